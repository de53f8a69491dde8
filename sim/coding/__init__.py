"""Coding and the revenue cycle: the codes on the claims (HCPCS/CPT, ICD-10-CM, MS-DRG),
claim denials and rework, RADV audits, documentation programmes (issue 13)."""
