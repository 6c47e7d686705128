"""The consent pages' words, in Chinese (default) and English. Permissions are said in plain language."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT = {
    "zh": {
        "title": "授权确认", "bank": "开放银行沙箱 · 城市商业银行", "sign_in": "登录网上银行",
        "username": "用户名", "password": "登录密码", "otp": "短信验证码", "sign_in_button": "登录",
        "sandbox_hint": "沙箱提示：所有角色的密码为 sandbox，验证码为 123456。",
        "wants": "正在请求访问您的银行信息", "signed_in_as": "当前登录", "approve": "同意授权", "deny": "拒绝",
        "choose_accounts": "选择授权的账户", "choose_account": "选择账户", "no_accounts": "没有可用的账户",
        "permissions": "将可以查看", "expires": "授权有效期至", "no_expiry": "长期有效（可随时撤销）",
        "transactions_window": "交易记录范围", "payment": "付款信息", "amount": "金额", "payee": "收款方",
        "payee_account": "收款账号", "reference": "附言", "loan": "贷款申请", "product": "产品",
        "term": "期限", "months": "个月", "repayment": "还款方式", "purpose": "用途",
        "credit_inquiry": "我授权银行查询我的征信报告，用于本次贷款审批（征信查询授权）。",
        "credit_inquiry_required": "申请贷款需要同意征信查询授权。",
        "funds": "资金确认", "funds_text": "确认您的账户是否有足够的资金完成付款（不会显示余额）。",
        "openid": "确认您的身份", "error_title": "无法完成授权", "back": "请返回应用重新发起。",
        "sign_in_failed": "用户名、密码或验证码不正确。", "account_error": "所选账户不可用于本次授权：",
        "language": "English", "schedule": "执行计划", "first_payment": "首次付款", "frequency": "频率",
    },
    "en": {
        "title": "Confirm access", "bank": "OpenBank Sandbox · City Commercial Bank", "sign_in": "Sign in to your bank",
        "username": "Username", "password": "Password", "otp": "One-time code (SMS)", "sign_in_button": "Sign in",
        "sandbox_hint": "Sandbox: every persona's password is sandbox and the one-time code is 123456.",
        "wants": "is asking for access to your bank information", "signed_in_as": "Signed in as",
        "approve": "Approve", "deny": "Deny", "choose_accounts": "Choose the accounts to share",
        "choose_account": "Choose the account", "no_accounts": "No eligible account",
        "permissions": "It will be able to see", "expires": "Access until", "no_expiry": "Until you revoke it",
        "transactions_window": "Transactions from", "payment": "Payment", "amount": "Amount", "payee": "Payee",
        "payee_account": "Payee account", "reference": "Reference", "loan": "Loan application", "product": "Product",
        "term": "Term", "months": "months", "repayment": "Repayment", "purpose": "Purpose",
        "credit_inquiry": "I authorise the bank to check my credit report for this loan application.",
        "credit_inquiry_required": "A loan application needs your credit-inquiry authorisation.",
        "funds": "Confirmation of funds",
        "funds_text": "Confirm whether your account holds enough money for a payment (your balance is not shown).",
        "openid": "Confirm who you are", "error_title": "This authorization cannot go on",
        "back": "Go back to the app and start again.", "sign_in_failed": "The username, password or code is wrong.",
        "account_error": "The account chosen cannot be used for this consent: ", "language": "中文",
        "schedule": "Schedule", "first_payment": "First payment", "frequency": "Frequency",
    },
}  # fmt: skip

PERMISSIONS = {
    "ReadAccountsBasic": ("账户名称与类型", "Your account names and types"),
    "ReadAccountsDetail": ("账户名称、类型与账号", "Your account names, types and numbers"),
    "ReadBalances": ("账户余额", "Your balances"),
    "ReadTransactionsBasic": ("交易记录（不含对方信息）", "Your transactions (without counterparty details)"),
    "ReadTransactionsDetail": ("交易记录（含对方信息）", "Your transactions (with counterparty details)"),
    "ReadTransactionsCredits": ("收入类交易", "Money coming in"),
    "ReadTransactionsDebits": ("支出类交易", "Money going out"),
    "ReadBeneficiariesBasic": ("收款人名单", "Your payees"),
    "ReadBeneficiariesDetail": ("收款人名单及账号", "Your payees and their account details"),
    "ReadStandingOrdersBasic": ("定期转账", "Your standing orders"),
    "ReadStandingOrdersDetail": ("定期转账及收款账号", "Your standing orders and their payees' accounts"),
    "ReadScheduledPaymentsBasic": ("预约付款", "Your scheduled payments"),
    "ReadScheduledPaymentsDetail": (
        "预约付款及收款账号",
        "Your scheduled payments and their payees' accounts",
    ),
    "ReadDirectDebits": ("代扣协议", "Your direct debits"),
    "ReadStatementsBasic": ("对账单", "Your statements"),
    "ReadStatementsDetail": ("对账单明细", "Your statements in detail"),
    "ReadProducts": ("账户产品信息", "Your account products"),
    "ReadOffers": ("优惠信息", "Offers on your accounts"),
    "ReadParty": ("您的个人资料", "Your personal details"),
    "ReadPartyPSU": ("您的个人资料", "Your personal details"),
    "ReadPAN": ("完整卡号", "Your full card numbers"),
}

REPAYMENT_METHODS = {
    "EQUAL_INSTALMENT": ("等额本息", "Equal instalments"),
    "EQUAL_PRINCIPAL": ("等额本金", "Equal principal"),
    "INTEREST_ONLY": ("先息后本", "Interest only, principal at the end"),
}


def choose_language(requested: str | None, accept_language: str | None) -> str:
    if requested in LANGUAGES:
        return requested
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    return pair[LANGUAGES.index(lang)] if pair else key
