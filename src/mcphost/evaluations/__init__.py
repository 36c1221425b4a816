"""Evaluations of hosted servers: suites of test cases (a tool call and the output expected of it), runs on demand,
after each redeploy and on a schedule, scores per case, record and replay of real calls, and a scoreboard ranking
servers by average score. See docs/evaluations.md."""
