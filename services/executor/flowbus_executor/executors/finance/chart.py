"""The chart of accounts: account types, which side each one grows on, and the default
chart a tenant gets on its first posting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AccountType = Literal["asset", "liability", "equity", "revenue", "expense"]
ACCOUNT_TYPES: tuple[AccountType, ...] = ("asset", "liability", "equity", "revenue", "expense")

CASH = "1000"
ACCOUNTS_RECEIVABLE = "1100"
INVENTORY = "1200"
VAT_RECEIVABLE = "1300"
PREPAID_EXPENSES = "1400"
ACCOUNTS_PAYABLE = "2000"
SALES_TAX_PAYABLE = "2100"
DEFERRED_REVENUE = "2200"
ACCRUED_LIABILITIES = "2300"
OWNERS_EQUITY = "3000"
RETAINED_EARNINGS = "3100"
REVENUE = "4000"
SHIPPING_REVENUE = "4100"
SALES_DISCOUNTS = "4900"
COST_OF_GOODS_SOLD = "5000"
OPERATING_EXPENSES = "6000"
PAYMENT_PROCESSING_FEES = "6100"
RENT = "6200"
SOFTWARE_SUBSCRIPTIONS = "6300"
PROFESSIONAL_FEES = "6400"
TRAVEL = "6500"
OFFICE_SUPPLIES = "6600"


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    type: AccountType
    contra: bool = False  # grows on the side opposite its type's (e.g. Sales Discounts)

    @property
    def debit_normal(self) -> bool:
        """Whether a debit increases it: assets and expenses, or a contra account of the others."""
        return (self.type in ("asset", "expense")) != self.contra


DEFAULT_CHART: tuple[Account, ...] = (
    Account(CASH, "Cash", "asset"),
    Account(ACCOUNTS_RECEIVABLE, "Accounts Receivable", "asset"),
    Account(INVENTORY, "Inventory", "asset"),
    Account(VAT_RECEIVABLE, "VAT Receivable", "asset"),
    Account(PREPAID_EXPENSES, "Prepaid Expenses", "asset"),
    Account(ACCOUNTS_PAYABLE, "Accounts Payable", "liability"),
    Account(SALES_TAX_PAYABLE, "Sales Tax Payable", "liability"),
    Account(DEFERRED_REVENUE, "Deferred Revenue", "liability"),
    Account(ACCRUED_LIABILITIES, "Accrued Liabilities", "liability"),
    Account(OWNERS_EQUITY, "Owner's Equity", "equity"),
    Account(RETAINED_EARNINGS, "Retained Earnings", "equity"),
    Account(REVENUE, "Revenue", "revenue"),
    Account(SHIPPING_REVENUE, "Shipping Revenue", "revenue"),
    Account(SALES_DISCOUNTS, "Sales Discounts", "revenue", contra=True),
    Account(COST_OF_GOODS_SOLD, "Cost of Goods Sold", "expense"),
    Account(OPERATING_EXPENSES, "Operating Expenses", "expense"),
    Account(PAYMENT_PROCESSING_FEES, "Payment Processing Fees", "expense"),
    Account(RENT, "Rent", "expense"),
    Account(SOFTWARE_SUBSCRIPTIONS, "Software Subscriptions", "expense"),
    Account(PROFESSIONAL_FEES, "Professional Fees", "expense"),
    Account(TRAVEL, "Travel", "expense"),
    Account(OFFICE_SUPPLIES, "Office Supplies", "expense"),
)
DEFAULT_ACCOUNTS = {account.code: account for account in DEFAULT_CHART}
