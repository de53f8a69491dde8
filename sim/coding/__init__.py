"""Claims coding and documentation (issue 13): coded claims, the CMS-HCC risk score."""
