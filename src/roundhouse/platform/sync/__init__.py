"""The code-host sync: the repositories each user can reach on GitHub, Gitea or GitLab and
their permissions there, recorded as roles and as repositories they may activate.

One module per forge's API (github, gitea, gitlab), what they share (common), the recording
(record), activation by a user's choice (activate) and the leased background runner (runner).
"""
