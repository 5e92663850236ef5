"""Candidate intake, the domain part: what a candidate file holds before a run is made of it.

- columns: the column policy, from the names alone (the ID, personal data, protected
  characteristics, the job's columns, the candidate's name, earlier judgements), the use
  each column starts with and why, in words
- proposals: what the file's values propose beyond the names (a unique ID column, the
  position column, job columns that hold contact details), the file read once
- rows: the one reading of the rows (fields, job, length, flags, copies) that both the
  check before a run and the ingest use
- check: the check before a run (FileCheck), counted from that reading, and why Start
  must be refused

Pure: no database, nothing written. The services apply it (services.ingest writes the
Items; services.intake is the check-and-create flow both doors call).
"""
