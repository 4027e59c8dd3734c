"""When: send-time rules, schedules, send plans, waves, the calendar and annual series."""
