import os
import requests

SLACK_WEBHOOK = "https://hooks.slack.com/services/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"
GITHUB_TOKEN = os.environ["GITHUB_TOKEN"]


def notify(text):
    requests.post(SLACK_WEBHOOK, json={"text": text}, timeout=5)
