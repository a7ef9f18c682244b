DROP TABLE breach_notifications;
DROP TABLE breaches;
