"""Runtime: the processes: the batch run and its housekeeping, delivery, watch mode."""
