"""The secret detectors of the content-safety scan: detect-secrets' regex plugins, as data.

The scan runs the regular expressions of detect-secrets 1.5.0 (Apache-2.0, Yelp) taken
from this table, not by importing detect-secrets: every one of its plugin modules imports
`requests` (through `detect_secrets/plugins/base.py`, for the online verification memkb
never runs), which cost ~170 ms of the ~210 ms that loading detect-secrets added to each
`memkb record` process. `tests/unit/rules/test_secret_detectors.py` holds this table equal
to the installed detect-secrets' plugins (same patterns, same flags, same keyword groups),
so an upgrade that changes a plugin fails there, and its message prints the table afresh.

Which plugins: every regex-based one except the public-IP detector (an IP is not a
credential); the entropy plugins want quoted strings, so `memkb.rules.safety` has its own
entropy check; the keyword detector with its config-file (YAML) patterns.
"""

# ruff: noqa: E501  (the patterns are detect-secrets' own, kept whole to compare)
from __future__ import annotations

import functools
from collections.abc import Callable

from memkb.rules.lazy_regex import LazyRegex

# (secret type, ((pattern, re flags), ...)), sorted by secret type, as
# get_mapping_from_secret_type_to_class() lists them.
REGEX_PLUGINS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    (  # AWSKeyDetector
        "AWS Access Key",
        (
            ("(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}", 32),
            (
                "aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\\'\\\"]([0-9a-zA-Z/+]{40})[\\'\\\"]",
                34,
            ),
        ),
    ),
    (  # ArtifactoryDetector
        "Artifactory Credentials",
        (
            ('(?:\\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\\s|"|$)', 32),
            ('(?:\\s|=|:|"|^)AP[\\dABCDEF][a-zA-Z0-9]{8,}(?:\\s|"|$)', 32),
        ),
    ),
    (  # AzureStorageKeyDetector
        "Azure Storage Account access key",
        (("AccountKey=[a-zA-Z0-9+\\/=]{88}", 32),),
    ),
    (  # BasicAuthDetector
        "Basic Auth Credentials",
        (
            (
                "://[^:/\\?\\#\\[\\]@!\\$\\&'\\(\\)\\*\\+,;=\\s]+:([^:/\\?\\#\\[\\]@!\\$\\&'\\(\\)\\*\\+,;=\\s]+)@",
                32,
            ),
        ),
    ),
    (  # CloudantDetector
        "Cloudant Credentials",
        (
            (
                "(?:(?<=\\W)|(?<=^))(?:\\[|)(?:\"|\\'|)(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)(?:\"|\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|\\'|)([0-9a-f]{64})(?:\"|\\'|)",
                34,
            ),
            (
                "(?:(?<=\\W)|(?<=^))(?:\\[|)(?:\"|\\'|)(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)(?:\"|\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|\\'|)([a-z]{24})(?:\"|\\'|)",
                34,
            ),
            ("(?:https?\\:\\/\\/)[\\w\\-]+\\:([0-9a-f]{64})\\@[\\w\\-]+\\.cloudant\\.com", 34),
            ("(?:https?\\:\\/\\/)[\\w\\-]+\\:([a-z]{24})\\@[\\w\\-]+\\.cloudant\\.com", 34),
        ),
    ),
    (  # DiscordBotTokenDetector
        "Discord Bot Token",
        (("[MNO][a-zA-Z\\d_-]{23,25}\\.[a-zA-Z\\d_-]{6}\\.[a-zA-Z\\d_-]{27}", 32),),
    ),
    (  # GitHubTokenDetector
        "GitHub Token",
        (("(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}", 32),),
    ),
    (  # GitLabTokenDetector
        "GitLab Token",
        (
            ("(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\\-]{20,50}(?!\\w)", 32),
            ("GR1348941[A-Za-z0-9_\\-]{20,50}(?!\\w)", 32),
            ("glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\\-]{20,50}(?!\\w)", 32),
            ("glimt-[A-Za-z0-9_\\-]{25}(?!\\w)", 32),
            ("glptt-[A-Za-z0-9_\\-]{40}(?!\\w)", 32),
            ("glagent-[A-Za-z0-9_\\-]{50,1024}(?!\\w)", 32),
            ("gloas-[A-Za-z0-9_\\-]{64}(?!\\w)", 32),
        ),
    ),
    (  # IbmCosHmacDetector
        "IBM COS HMAC Credentials",
        (
            (
                "(?:(?<=\\W)|(?<=^))(?:\\[|)(?:\"|\\'|)(?:(?:ibm)?[-_]?cos[-_]?(?:hmac)?|)(?:_|-|)(?:secret[-_]?(?:access)?[-_]?key)(?:\"|\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|\\'|)([a-f0-9]{48}(?![a-f0-9]))(?:\"|\\'|)",
                34,
            ),
        ),
    ),
    (  # IbmCloudIamDetector
        "IBM Cloud IAM Key",
        (
            (
                "(?:(?<=\\W)|(?<=^))(?:\\[|)(?:\"|\\'|)(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm(?:_|-|)cloud|ibm(?:_|-|)iam|ibm|iam|cloud|)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)(?:\"|\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|\\'|)([a-zA-Z0-9_\\-]{44}(?![a-zA-Z0-9_\\-]))(?:\"|\\'|)",
                34,
            ),
        ),
    ),
    (  # JwtTokenDetector
        "JSON Web Token",
        (("eyJ[A-Za-z0-9-_=]+\\.[A-Za-z0-9-_=]+\\.?[A-Za-z0-9-_.+/=]*?", 32),),
    ),
    (  # MailchimpDetector
        "Mailchimp Access Key",
        (("[0-9a-z]{32}-us[0-9]{1,2}", 32),),
    ),
    (  # NpmDetector
        "NPM tokens",
        (("\\/\\/.+\\/:_authToken=\\s*((npm_.+)|([A-Fa-f0-9-]{36})).*", 32),),
    ),
    (  # OpenAIDetector
        "OpenAI Token",
        (("sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", 32),),
    ),
    (  # PrivateKeyDetector
        "Private Key",
        (
            ("BEGIN DSA PRIVATE KEY", 32),
            ("BEGIN EC PRIVATE KEY", 32),
            ("BEGIN OPENSSH PRIVATE KEY", 32),
            ("BEGIN PGP PRIVATE KEY BLOCK", 32),
            ("BEGIN PRIVATE KEY", 32),
            ("BEGIN RSA PRIVATE KEY", 32),
            ("BEGIN SSH2 ENCRYPTED PRIVATE KEY", 32),
            ("PuTTY-User-Key-File-2", 32),
        ),
    ),
    (  # PypiTokenDetector
        "PyPI Token",
        (
            ("pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}", 32),
            ("pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}", 32),
        ),
    ),
    (  # SendGridDetector
        "SendGrid API Key",
        (("SG\\.[a-zA-Z0-9_-]{22}\\.[a-zA-Z0-9_-]{43}", 32),),
    ),
    (  # SlackDetector
        "Slack Token",
        (
            ("xox(?:a|b|p|o|s|r)-(?:\\d+-)+[a-z0-9]+", 34),
            (
                "https://hooks\\.slack\\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
                98,
            ),
        ),
    ),
    (  # SoftlayerDetector
        "SoftLayer Credentials",
        (
            (
                "(?:(?<=\\W)|(?<=^))(?:\\[|)(?:\"|\\'|)(?:softlayer|sl)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)(?:\"|\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|\\'|)([a-z0-9]{64})(?:\"|\\'|)",
                34,
            ),
            ("(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/([a-z0-9]{64})", 34),
        ),
    ),
    (  # SquareOAuthDetector
        "Square OAuth Secret",
        (("sq0csp-[0-9A-Za-z\\\\\\-_]{43}", 32),),
    ),
    (  # StripeDetector
        "Stripe Access Key",
        (("(?:r|s)k_live_[0-9a-zA-Z]{24}", 32),),
    ),
    (  # TelegramBotTokenDetector
        "Telegram Bot Token",
        (("\\d{8,10}:[0-9A-Za-z_-]{35}", 32),),
    ),
    (  # TwilioKeyDetector
        "Twilio API Key",
        (
            ("AC[a-z0-9]{32}", 32),
            ("SK[a-z0-9]{32}", 32),
        ),
    ),
)
# The keyword detector on config files (its CONFIG_DENYLIST_REGEX_TO_GROUP): (pattern,
# re flags, the group holding the value assigned to the keyword).
KEYWORD_PATTERNS: tuple[tuple[str, int, int], ...] = (
    (
        "(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena)\\w*([]\\'\"]{0,2})?:\\s*([\\'\"`]?)((?=[^\\v\\'\\\"]*)(?=\\w+)[^\\v\\'\\\"]*[^\\v,\\'\\\"`])(\\3)",
        34,
        4,
    ),
    (
        "([\\'\"`])((?=[^\\v\\'\\\"]*)(?=\\w+)[^\\v\\'\\\"]*[^\\v,\\'\\\"`])(\\1)\\s*[!=]{2,3}\\s*\\w*(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena)\\w*",
        32,
        2,
    ),
    (
        "(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena)\\w*([]\\'\"]{0,2})?\\s*(={1,3}|!==?)\\s*([\\'\"`]?)((?=[^\\v\\'\\\"]*)(?=\\w+)[^\\v\\'\\\"]*[^\\v,\\'\\\"`])(\\4)",
        34,
        5,
    ),
    (
        "(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena)\\w*[^\\s]{0,50}?\\s*([\\'\"`])((?=[^\\v\\'\\\"]*)(?=\\w+)[^\\v\\'\\\"]*[^\\v,\\'\\\"`])(\\2);",
        34,
        3,
    ),
)

KEYWORD = "secret assigned to a keyword"


# Each pattern's keywords (memkb.rules.lazy_regex), in REGEX_PLUGINS' order: one of them
# occurs in every text the pattern matches, lower case where it ignores case (True).
# Derived by tests/unit/rules/test_safety_keywords.py, which holds them equal.
PLUGIN_KEYWORDS: dict[str, tuple[tuple[tuple[str, ...], bool], ...]] = {
    "AWS Access Key": (
        (("3T", "BIA", "CCA", "KIA", "SIA"), False),
        (("aws",), True),
    ),
    "Artifactory Credentials": (
        (("AKC",), False),
        (("AP",), False),
    ),
    "Azure Storage Account access key": ((("AccountKey=",), False),),
    "Basic Auth Credentials": ((("://",), False),),
    "Cloudant Credentials": (
        (("key", "pass", "pw", "token"), True),
        (("key", "pass", "pw", "token"), True),
        ((".cloudant.com",), True),
        ((".cloudant.com",), True),
    ),
    "Discord Bot Token": (((".",), False),),
    "GitHub Token": ((("gho_", "ghp_", "ghr_", "ghs_", "ghu_"), False),),
    "GitLab Token": (
        (("gldt-", "glft-", "glpat-", "glrt-", "glsoat-"), False),
        (("GR1348941",), False),
        (("glcbt-",), False),
        (("glimt-",), False),
        (("glptt-",), False),
        (("glagent-",), False),
        (("gloas-",), False),
    ),
    "IBM COS HMAC Credentials": ((("secret",), True),),
    "IBM Cloud IAM Key": ((("key", "pass", "pwd", "token"), True),),
    "JSON Web Token": ((("eyJ",), False),),
    "Mailchimp Access Key": (
        (("-us0", "-us1", "-us2", "-us3", "-us4", "-us5", "-us6", "-us7", "-us8", "-us9"), False),
    ),
    "NPM tokens": ((("/:_authToken=",), False),),
    "OpenAI Token": ((("T3BlbkFJ",), False),),
    "Private Key": (
        (("BEGIN DSA PRIVATE KEY",), False),
        (("BEGIN EC PRIVATE KEY",), False),
        (("BEGIN OPENSSH PRIVATE KEY",), False),
        (("BEGIN PGP PRIVATE KEY BLOCK",), False),
        (("BEGIN PRIVATE KEY",), False),
        (("BEGIN RSA PRIVATE KEY",), False),
        (("BEGIN SSH2 ENCRYPTED PRIVATE KEY",), False),
        (("PuTTY-User-Key-File-2",), False),
    ),
    "PyPI Token": (
        (("pypi-AgEIcHlwaS5vcmc",), False),
        (("pypi-AgENdGVzdC5weXBpLm9yZw",), False),
    ),
    "SendGrid API Key": ((("SG.",), False),),
    "Slack Token": (
        (("xoxa-", "xoxb-", "xoxo-", "xoxp-", "xoxr-", "xoxs-"), True),
        (("https://hooks.slack.com/services/t",), True),
    ),
    "SoftLayer Credentials": (
        (("key", "pass", "pwd", "token"), True),
        (("com/soap/v3",), True),
    ),
    "Square OAuth Secret": ((("sq0csp-",), False),),
    "Stripe Access Key": ((("rk_live_", "sk_live_"), False),),
    "Telegram Bot Token": ((("0:", "1:", "2:", "3:", "4:", "5:", "6:", "7:", "8:", "9:"), False),),
    "Twilio API Key": (
        (("AC",), False),
        (("SK",), False),
    ),
}
# The words every pattern of the keyword detector needs (its names of a secret), the same
# for all four of its patterns; whether each pattern ignores case differs.
_SECRET_NAMES = (
    "account", "api", "auth", "client", "contrasena", "contraseña", "database", "key",
    "pass", "priv", "pwd", "secret", "service",
)  # fmt: skip
KEYWORD_PATTERN_KEYWORDS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (_SECRET_NAMES, True),
    (_SECRET_NAMES, False),
    (_SECRET_NAMES, True),
    (_SECRET_NAMES, True),
)


def _finds(regex: LazyRegex, text: str) -> bool:
    """Whether detect-secrets' RegexBasedDetector.analyze_string yields anything: a
    match of a pattern with at most one group, or one with a non-empty group."""
    return any(regex.compiled.groups <= 1 or any(match.groups()) for match in regex.finditer(text))


@functools.cache
def plugin_regexes() -> tuple[tuple[str, tuple[LazyRegex, ...]], ...]:
    """(secret type, its patterns) for every regex plugin; each compiled on first use."""
    return tuple(
        (
            name,
            tuple(
                LazyRegex(pattern, *_keywords(PLUGIN_KEYWORDS.get(name, ()), n), flags)
                for n, (pattern, flags) in enumerate(patterns)
            ),
        )
        for name, patterns in REGEX_PLUGINS
    )


def _keywords(
    table: tuple[tuple[tuple[str, ...], bool], ...], n: int
) -> tuple[tuple[str, ...], bool]:
    return table[n] if n < len(table) else ((), False)  # none: always run


@functools.cache
def regex_detectors() -> tuple[tuple[str, Callable[[str], bool]], ...]:
    """(secret type, does `text` hold one?) for every regex plugin."""
    return tuple((name, _detector(regexes)) for name, regexes in plugin_regexes())


def _detector(regexes: tuple[LazyRegex, ...]) -> Callable[[str], bool]:
    return lambda text: any(_finds(regex, text) for regex in regexes)


@functools.cache
def keyword_regexes() -> tuple[tuple[LazyRegex, int], ...]:
    """The keyword detector's patterns, each with the group holding the value."""
    return tuple(
        (LazyRegex(pattern, *_keywords(KEYWORD_PATTERN_KEYWORDS, n), flags), group)
        for n, (pattern, flags, group) in enumerate(KEYWORD_PATTERNS)
    )


def keyword_values(text: str) -> list[str]:
    """The values `text` assigns to a secret-sounding keyword (`password: x`), one per
    keyword pattern that matches: KeywordDetector.analyze_string on a config file."""
    found = []
    for regex, group in keyword_regexes():
        match = regex.search(text)
        if match and match.group(group) is not None:
            found.append(match.group(group))
    return found
