"""HTTP pieces every transport shares."""
