"""The portal's words, Chinese (default) and English: key → (zh, en). Messages of the registration code (RFC 7591
descriptions) are shown as they come, in English."""

from __future__ import annotations

from gateway.consent.texts import LANGUAGES, choose_language

__all__ = ["LANGUAGES", "TEXT", "choose_language", "translate"]

PAIRS: dict[str, tuple[str, str]] = {
    "portal": ("开发者门户", "Developer portal"),
    "bank": ("开放银行沙箱", "OpenBank Sandbox"),
    "language": ("English", "中文"),
    # navigation
    "dashboard": ("概览", "Dashboard"), "apps": ("应用", "Apps"), "personas": ("测试角色", "Personas"),
    "sandbox": ("沙箱控制", "Sandbox controls"), "audit": ("API 调用日志", "API call log"),
    "events": ("事件推送", "Event deliveries"), "loan_decisions": ("贷款审批记录", "Loan decisions"),
    "idempotency": ("幂等记录", "Idempotency records"), "quickstart": ("快速开始", "Quickstart"),
    "api_reference": ("API 参考", "API reference"), "classroom": ("课堂模式", "Classroom"),
    "sign_out": ("退出", "Sign out"), "sign_in": ("登录", "Sign in"), "sign_up": ("注册", "Sign up"),
    # accounts
    "email": ("邮箱", "Email"), "password": ("密码（至少 10 位）", "Password (at least 10 characters)"),
    "team": ("团队 / 租户名（小写字母、数字、连字符）", "Team / tenant name (lower-case letters, digits, hyphens)"),
    "sign_up_button": ("注册并创建沙箱", "Sign up and create my sandbox"), "sign_in_button": ("登录", "Sign in"),
    "have_account": ("已有账号？登录", "Have an account? Sign in"), "no_account": ("没有账号？注册", "No account? Sign up"),
    "welcome": ("欢迎", "Welcome"),
    # errors
    "error": ("出错了", "Something is wrong"), "form_has_errors": ("请修改以下内容", "Please correct the fields below"),
    "email_invalid": ("邮箱格式不正确", "This is not an email address"),
    "password_length": ("密码长度须为 10 到 200 个字符", "The password needs 10 to 200 characters"),
    "team_name": ("须为 1-40 位小写字母、数字或中间的连字符", "1-40 lower-case letters, digits or inner hyphens"),
    "email_taken": ("该邮箱已注册", "This email already has an account"),
    "team_taken": ("该团队名已被使用", "This team name is taken"),
    "sign_in_failed": ("邮箱或密码不正确", "The email or password is wrong"),
    "required": ("必填", "Required"), "profile": ("请选择 fapi2 或 sandbox-basic", "Choose fapi2 or sandbox-basic"),
    "jwks_required": ("请粘贴或上传 JWKS，或选择自动生成密钥", "Paste or upload a JWKS, or let the sandbox generate a key"),
    "days_or_months": ("请填写天数或月数（二选一）", "Give a number of days or of months (one of them)"),
    "positive_number": ("请填写正整数", "A whole number of at least 1"),
    "too_far": ("最多前进 3660 天", "At most 3660 days at a time"), "too_long": ("太长了", "Too long"),
    "csrf_failed": ("表单已过期或不是来自本页面，请刷新后重试。", "This form expired or did not come from this page: reload and retry."),
    "signup_closed": ("本部署已关闭公开注册，请联系管理员。", "Open sign-up is off on this deployment: ask its operator."),
    "not_found": ("找不到该页面或对象", "Not found"), "back_home": ("返回门户首页", "Back to the portal"),
    "unavailable": ("后端服务暂不可用，请稍后重试", "A back-end service is not available: retry in a moment"),
    # dashboard
    "tenant_id": ("租户 ID", "Tenant id"), "initial_access_token": ("初始访问令牌", "Initial access token"),
    "iat_hint": ("用于注册应用（RFC 7591）和调用 /sandbox/v1 接口；请妥善保管。",
                 "Registers apps (RFC 7591) and authorises /sandbox/v1 calls; keep it secret."),
    "clock": ("沙箱时钟", "Sandbox clock"), "copy": ("复制", "Copy"),
    # apps
    "app_name": ("应用名称", "App name"), "redirect_uris": ("回调地址（每行一个）", "Redirect URIs (one per line)"),
    "security_profile": ("安全等级", "Security profile"),
    "fapi2_hint": ("fapi2：PAR + private_key_jwt + DPoP，回调须为 https（本机回环地址可用 http）",
                   "fapi2: PAR + private_key_jwt + DPoP; redirect URIs are https (or loopback http)"),
    "basic_hint": ("sandbox-basic：client_secret + Bearer 令牌，适合课堂与 curl",
                   "sandbox-basic: client secret and bearer tokens, for classrooms and curl"),
    "keys": ("签名密钥（fapi2）", "Signing keys (fapi2)"),
    "generate_key": ("为我生成密钥对（私钥仅显示一次）", "Generate a key pair for me (the private key is shown once)"),
    "own_jwks": ("使用我自己的公钥 JWKS", "Use my own public JWKS"), "jwks_paste": ("粘贴 JWKS", "Paste the JWKS"),
    "jwks_file": ("或上传 JWKS 文件", "or upload a JWKS file"), "create_app": ("创建应用", "Create app"),
    "new_app": ("新建应用", "New app"), "client_id": ("Client ID", "Client id"),
    "client_secret": ("Client Secret", "Client secret"),
    "shown_once": ("以下凭证只显示这一次，请立即保存：门户不保存私钥和密钥明文。",
                   "These credentials are shown this once: save them now. The portal keeps no private key or secret."),
    "private_jwk": ("私钥（JWK）", "Private key (JWK)"), "private_pem": ("私钥（PEM）", "Private key (PEM)"),
    "download": ("下载", "Download"), "rotate": ("轮换凭证", "Rotate credentials"),
    "rotate_hint": ("fapi2：生成新密钥对并替换已注册的公钥；sandbox-basic：生成新的 client secret。旧凭证立即失效。",
                    "fapi2: a new key pair replaces the registered keys; sandbox-basic: a new client secret. The old ones stop working at once."),
    "delete": ("删除应用", "Delete app"), "deleted": ("应用已删除", "The app was deleted"),
    "created": ("创建时间", "Created"), "no_apps": ("还没有应用", "No apps yet"), "view": ("查看", "View"),
    "public_keys": ("已注册的公钥", "Registered public keys"), "metadata": ("注册信息", "Registered metadata"),
    # personas
    "username": ("用户名", "Username"), "who": ("画像", "Who"), "expected_outcome": ("预期贷款结果", "Expected loan outcome"),
    "name": ("姓名", "Name"), "persona_password_hint": ("所有角色的密码为 sandbox，验证码为 123456。",
                                                   "Every persona's password is sandbox and the one-time code is 123456."),
    "log_in_as": ("以该角色登录", "Log in as this persona"), "otp": ("验证码", "One-time code"),
    "persona_failed": ("用户名、密码或验证码不正确", "The username, password or code is wrong"),
    "customer_view": ("客户视角：已授权给应用的同意", "The customer's view: consents granted to apps"),
    "persona_sign_out": ("退出角色", "Leave this persona"), "signed_in_as_persona": ("当前角色", "Signed in as"),
    "consents": ("授权", "Consents"), "revoke": ("撤销", "Revoke"), "no_consents": ("没有授权记录", "No consents"),
    "accounts": ("账户", "Accounts"), "balance": ("余额", "Balance"), "bureau": ("征信摘要", "Bureau summary"),
    "kind": ("类型", "Kind"), "status": ("状态", "Status"), "app": ("应用", "App"),
    "details": ("详情", "Details"), "revoked": ("授权已撤销", "The consent was revoked"),
    # sandbox controls
    "reset": ("重置租户", "Reset the tenant"),
    "reset_hint": ("恢复角色数据（余额、授权、支付、贷款、事件、时钟），保留应用和初始访问令牌；之前签发的令牌全部失效。",
                   "Restores the persona world (balances, consents, payments, loans, events, clock); apps and the initial access token stay; tokens issued before stop working."),
    "reset_confirm": ("我确认要重置（输入租户 ID）", "I am sure (type the tenant id)"),
    "reset_done": ("租户已重置", "The tenant was reset"), "reset_mismatch": ("请输入本租户的 ID 以确认", "Type this tenant's id to confirm"),
    "advance_days": ("前进天数", "Advance by days"), "advance_months": ("或前进月数", "or by months"),
    "advance": ("推进时钟", "Advance the clock"), "clock_moved": ("时钟已推进", "The clock moved"),
    "before": ("之前", "Before"), "after": ("之后", "After"),
    "events_since": ("期间产生的事件推送", "Event deliveries since then"), "none": ("无", "None"),
    "faults": ("故障注入", "Fault toggles"), "rate_limit": ("限流设置", "Rate limits"),
    "save": ("保存", "Save"), "saved": ("已保存", "Saved"), "requests_per_second": ("每秒请求数", "Requests per second"),
    "registered": ("注册值", "registered"),
    "outcome": ("结果", "Outcome"), "reason_codes": ("原因码", "Reason codes"), "score": ("评分", "Score"),
    "rules_version": ("规则版本", "Rules version"), "rule_hits": ("命中规则", "Rule hits"), "inputs": ("输入特征", "Inputs"),
    "offer": ("报价", "Offer"), "expires": ("过期时间", "Expires"),
    # inspectors
    "time": ("时间", "Time"), "method": ("方法", "Method"), "path": ("路径", "Path"), "latency": ("耗时 ms", "Latency ms"),
    "event_type": ("事件类型", "Event type"), "attempts": ("尝试次数", "Attempts"), "callback": ("回调地址", "Callback URL"),
    "redeliver": ("重新推送", "Re-deliver"), "redelivered": ("已安排重新推送", "Re-delivery scheduled"),
    "signed_request": ("推送内容（签名的 SET）", "What was sent (the signed SET)"),
    "signature_header": ("签名头", "Signature header"), "claims": ("内容", "Claims"),
    "next_attempt": ("下次尝试", "Next attempt"), "no_records": ("暂无记录", "Nothing yet"),
    "resource": ("资源", "Resource"), "response": ("响应状态", "Response status"),
    "response_body": ("接收方响应内容", "What the receiver answered"), "characters": ("个字符", "characters"),
    "truncated": ("已截断，仅保留开头部分", "truncated: only the start is kept"),
    # quickstart
    "quickstart_intro": ("以下命令已填入您的租户数据，可直接复制运行（需要 curl 和 jq）。",
                         "These commands carry your tenant's real values: copy and run them (curl and jq needed)."),
    "python_fapi2": ("Python：fapi2（PAR + private_key_jwt + DPoP）", "Python: fapi2 (PAR + private_key_jwt + DPoP)"),
    "python_hint": ("完整示例见 examples/partner_fapi2.py：", "The whole flow is examples/partner_fapi2.py:"),
    "quickstart_app": ("这些步骤使用 sandbox-basic 应用", "These steps use the sandbox-basic app"),
    "quickstart_no_app": ("请先创建一个 sandbox-basic 应用，这里会填入它的 client id；密钥请自行替换。",
                          "Create a sandbox-basic app first: its client id is filled in here; put in its secret yourself."),
    # classroom
    "classroom_name": ("课堂名称", "Classroom name"), "teams_csv": ("上传团队名 CSV（每行一个，最多 100 行，64 KiB）",
                                                    "Upload a CSV of team names (one a line, at most 100 rows, 64 KiB)"),
    "team_count": ("或团队数量", "or a number of teams"), "create_classroom": ("创建课堂", "Create the classroom"),
    "classrooms": ("我的课堂", "My classrooms"), "teams": ("团队", "Teams"), "sheet": ("凭证表", "Credentials sheet"),
    "download_csv": ("下载 CSV", "Download CSV"), "print": ("打印", "Print"), "reset_team": ("重置该团队", "Reset this team"),
    "team_reset": ("团队已重置（其他团队不受影响）", "The team was reset (no other team was touched)"),
    "team_name_col": ("团队", "Team"),
}  # fmt: skip

TEXT = {lang: {key: pair[index] for key, pair in PAIRS.items()} for index, lang in enumerate(LANGUAGES)}


def translate(lang: str, key_or_message: str) -> str:
    """A text by key, or the message itself when it is not a key (descriptions from the registration code)."""
    return TEXT[lang].get(key_or_message, key_or_message)
