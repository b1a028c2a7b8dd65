"""Schedules: cron expressions (with a time zone) that create a blueprint's orders at their
ticks. They are rows of their own, not part of the versioned blueprint, so pausing one needs
no publish. `cron` computes ticks, `service` keeps the rows, `ticker` makes the orders."""
