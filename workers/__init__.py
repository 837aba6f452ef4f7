"""The RQ side: job functions, worker start-up and supervision, background duties (thin: they
call into `server/`)."""
