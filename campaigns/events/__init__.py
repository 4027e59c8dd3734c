"""Delivery events from providers and bounces, suppression, tracking, guard rails and reports."""
