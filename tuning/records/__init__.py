"""What a search leaves on disk: one record per trial, the tables, the run directory."""
