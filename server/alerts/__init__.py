"""Alert rules and notifications (docs/alerts.md): rules.py validates and shows rules, conditions.py decides
whether a rule holds, evaluator.py moves alerts pending -> firing -> resolved and writes notifications to the
outbox, outbox.py delivers them through channels.py (webhooks signed by signing.py, over net.py's guarded
connections)."""
