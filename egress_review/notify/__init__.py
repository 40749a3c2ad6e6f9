"""Notifications: reviewers hear of each submission, analysts of the decision on theirs, operators
of overridden blocks; by email (SMTP) and by webhook (JSON POST), with fixed wording and a link.

queue.py writes notices in the decision's transaction (the outbox), dispatcher.py sends them in the
background with retries and audits each attempt, wording.py says what a notice may contain,
recipients.py finds the addresses, senders.py speaks SMTP and HTTP, settings.py configures it.
"""

from .dispatcher import NotificationDispatcher, RetryPolicy
from .queue import queue
from .settings import AirlockNotifications
from .wording import Notice

__all__ = ["AirlockNotifications", "Notice", "NotificationDispatcher", "RetryPolicy", "queue"]
