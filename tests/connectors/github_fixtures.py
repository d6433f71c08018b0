"""Data for the GitHub connector tests: real signatures (made once with gpg and ssh-keygen
for a throwaway key), seed data for the sandbox fake, and the identity's configuration."""

from __future__ import annotations

# gpg --quick-gen-key "release-bot <bot@example.com>" ed25519 sign; gpg --armor --detach-sign
GPG_KEY_ID = "7EF08D3A93755331"
GPG_SIGNATURE = """-----BEGIN PGP SIGNATURE-----

iHUEABYIAB0WIQSVXGQtV6nLiPg7V59+8I06k3VTMQUCawML1QAKCRB+8I06k3VT
Mcu0AP4+GvF6MveXWIBfTawXyMfzj4sI5fskl8I99MNo0qPL2AD/WGoHPhLepz4W
egsGvU3qTe/Z5Xgx4pOMQCK62likwAI=
=Tfrb
-----END PGP SIGNATURE-----
"""

# ssh-keygen -t ed25519; ssh-keygen -Y sign -n git
SSH_PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjZxvA1bdn/efhZZoQVe21cEMpWwdZ3WoEZ00c"
                  "K8GiP bot")
SSH_SIGNATURE = """-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgGNnG8DVt2f95+FlmhBV7bVwQyl
bB1ndagRnTRwrwaI8AAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQJ95/xAYi8REhKsbsxQJ+OgHAA48TXqzfbNKSvNNUeZlmZRsmNK5KxWXXU6i0/QVfe
fyEDz+s6xA6tHHNptXLwk=
-----END SSH SIGNATURE-----
"""

LEAKED_CLASSIC = "ghp_" + "L" * 36  # obviously fake, shaped like a classic PAT
LEAKED_FINE = "github_pat_" + "11AAAAAAA0" * 8
