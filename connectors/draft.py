"""A first sources.yaml entry for an export nobody has configured yet (`silobridge sources draft FILE`).

It sniffs what the readers need (format, encoding, delimiter), reads a sample of rows with the readers
themselves (connectors.readers), classifies each column's values by shape (email, phone, date or timestamp
and its format, ROC date, epoch, number and its separators, boolean, id, JSON, text), proposes the kind
(connectors.schemas) whose fields its column names and shapes cover best, and maps columns to canonical
fields by name (English and Chinese synonyms) checked against their shapes. The entry is YAML text with a
comment wherever it guessed or left a column out; `sources check` accepts it as it is. Values are never
written into it, only their shapes: an export is personal data.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from connectors.config import Format, SourceConfig
from connectors.readers import COMPRESSED, footer_start, open_export, read_export
from connectors.schemas import KINDS, LINEAGE, ORDER_STATUSES, UNIQUE_KEYS

SAMPLE_ROWS = 2_000
FOOTER_MAX = 10  # trailing lines that are not rows, at most, proposed as a report's footer

# Canonical field -> column names that mean it, normalised (`_norm`): English first, then Traditional and
# Simplified Chinese. A field's own name always counts.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "record_id": ("id", "record id", "customer id", "customer no", "customer number", "contact id", "member id",
                  "member no", "member number", "rec id", "account id", "subscriber id", "client id", "ticket id", "case id", "case number", "ticket number",
                  "unique email id", "euid",
                  "客戶編號", "客戶代號", "會員編號", "顧客編號", "編號", "客户编号", "会员编号", "工單編號", "案件編號"),
    "email": ("email", "e mail", "email address", "mail", "e mail address", "電子郵件", "電子信箱", "電郵", "信箱",
              "email信箱", "電子郵件地址", "邮箱", "电子邮件", "电子邮箱"),
    "phone": ("phone", "mobile", "phone number", "telephone", "tel", "cell", "cell phone", "mobile phone",
              "mobile number", "contact number", "手機", "手機號碼", "行動電話", "電話", "聯絡電話", "手机", "手机号",
              "电话", "联系电话"),
    "full_name": ("name", "full name", "customer name", "contact name", "member name", "requester name",
                  "姓名", "名稱", "客戶姓名", "會員姓名", "顧客姓名", "客户姓名", "联系人"),
    "first_name": ("first name", "given name", "firstname", "fname", "forename", "名"),
    "middle_name": ("middle name", "middle initial"),
    "last_name": ("last name", "surname", "family name", "lastname", "lname", "姓"),
    "birth_date": ("birth date", "birthday", "birthdate", "date of birth", "dob", "生日", "出生日期", "出生年月日"),
    "street": ("street", "street name", "address", "address 1", "address 1 2", "address line 1", "street address", "mailing street",
               "billing street", "billing address1", "地址", "住址", "通訊地址", "聯絡地址", "收件地址", "地址1"),
    "city": ("city", "town", "suburb", "mailing city", "billing city", "城市", "縣市", "縣市別", "城市名称"),
    "postcode": ("zip", "postcode", "postal code", "zip code", "zipcode", "zip postal code", "mailing zip", "billing zip",
                 "mailing zip postal code", "郵遞區號", "郵編", "邮编", "邮政编码"),
    "loyalty_id": ("loyalty id", "loyalty card", "loyalty number", "member card", "membership number",
                   "card number", "會員卡號", "會員卡", "卡號", "会员卡号"),
    "login_id": ("login", "login id", "username", "user name", "user id", "account", "customer id", "customer no",
                 "member id", "customer number", "帳號", "會員帳號", "账号",
                 "用户名"),
    "account_type": ("account type", "customer type", "客戶類型", "客戶類別"),
    "company": ("company", "account name", "organization", "organisation", "business name", "公司", "公司名稱"),
    "status": ("status", "state", "狀態", "状态"),
    "marketing_opt_in": ("marketing opt in", "opt in", "accepts marketing", "subscribed", "newsletter",
                         "email opt in", "同意行銷", "訂閱電子報", "订阅"),
    "created_at": ("create date", "created", "created at", "created date", "creation date", "create time", "signup date",
                   "registered", "registration date", "join date", "optin time", "建立日期", "建立時間", "註冊日期",
                   "加入日期", "创建时间", "注册日期"),
    "updated_at": ("updated", "updated at", "last modified", "last modified date", "last changed", "modified",
                   "update time", "更新時間", "更新日期", "修改日期", "更新时间"),
    "order_id": ("order id", "order number", "order no", "order", "invoice", "invoice no", "invoice number",
                 "transaction id", "receipt no", "receipt number", "訂單編號", "訂單號碼", "訂單號", "發票號碼",
                 "交易序號", "订单号", "订单编号"),
    "line_no": ("line", "line no", "line number", "line item", "item no", "seq", "項次", "序號", "行號", "明细行号"),
    "ordered_at": ("order date", "ordered at", "purchase date", "purchased at", "transaction date", "sale date",
                   "date", "order time", "created at", "created", "訂購日期", "訂單日期", "購買日期", "交易日期", "交易時間", "下單時間",
                   "下单时间", "订单日期"),
    "channel": ("channel", "source", "sales channel", "order source", "via", "platform", "通路", "銷售通路", "渠道", "来源"),
    "store_id": ("store", "store id", "shop id", "location", "store code", "branch", "門市", "門市代號", "店號",
                 "门店"),
    "sku": ("sku", "product id", "item id", "product code", "item code", "article number", "商品編號", "商品代號",
            "料號", "貨號", "品號", "商品编号"),
    "quantity": ("quantity", "qty", "units", "amount of items", "數量", "件數", "数量"),
    "unit_list_price": ("list price", "unit list price", "msrp", "compare at price", "original price", "rrp",
                        "定價", "原價", "牌價", "原价"),
    "unit_price_paid": ("item cost", "item price", "unit price", "price", "price paid", "sale price", "selling price", "單價", "售價", "成交價",
                        "单价"),
    "discount_code": ("discount code", "promo code", "coupon", "coupon code", "voucher", "折扣碼", "優惠碼",
                      "優惠券", "优惠码"),
    "currency": ("currency", "currency code", "幣別", "幣值", "币种", "货币"),
    "order_status": ("order status", "status", "financial status", "fulfillment status", "訂單狀態", "狀態",
                     "订单状态"),
    "payment_method": ("payment method title", "payment method", "payment", "payment type", "payment gateway", "付款方式", "支付方式"),
    "shipping_method": ("shipping method title", "shipping method", "shipping type", "shipping", "delivery method", "delivery type",
                        "配送方式", "運送方式", "物流方式"),
    "rating": ("rating", "product rating", "review score", "stars", "評分", "评分"),
    "topic": ("topic", "category", "type", "issue type", "reason", "問題類型", "問題分類", "類別", "问题类型"),
    "agent_id": ("agent", "agent id", "assignee", "assignee id", "handled by", "客服人員", "專員", "客服"),
    "transfers": ("transfers", "transfer history", "轉接紀錄"),
    "wait_seconds": ("wait seconds", "wait time", "queue time", "等候秒數", "等待时间"),
    "csat": ("csat", "satisfaction", "satisfaction score", "rating", "滿意度", "满意度"),
    "resolved_at": ("resolved at", "solved at", "closed at", "resolution date", "resolved", "結案時間", "結案日期",
                    "解决时间"),
    "campaign_id": ("campaign id", "campaign", "campaign code", "活動編號", "活动编号"),
    "campaign_name": ("campaign name", "活動名稱"),
    "promo_code": ("promo code", "promotion code", "優惠碼"),
    "discount_pct": ("discount", "discount pct", "discount percent", "discount rate", "折扣", "折扣率"),
    "valid_channels": ("valid channels", "channels", "適用通路"),
    "valid_from": ("valid from", "start date", "effective date", "start", "from", "生效日", "開始日期"),
    "valid_to": ("valid to", "end date", "expiry date", "end", "to", "失效日", "結束日期"),
    "subscriber_id": ("subscriber id", "subscriber", "recipient", "contact id", "訂閱者編號"),
    "event_type": ("event type", "event", "event name", "action", "activity", "事件", "事件類型"),
    "event_at": ("event time", "event at", "event timestamp", "timestamp", "time", "event date", "事件時間", "時間"),
    "event_id": ("event id", "hit id", "事件編號"),
    "device_id": ("device id", "client id", "cookie id", "user pseudo id", "anonymous id", "visitor id",
                  "裝置編號", "设备id"),
    "page": ("page", "url", "page location", "page path", "page url", "頁面", "网址"),
    "product_name": ("product name", "product", "item name", "title", "product title", "商品名稱", "品名",
                     "商品名称"),
    "category": ("category", "product type", "product category", "類別", "商品類別", "分類", "类别"),
    "launched_on": ("launch date", "launched", "launched on", "release date", "上市日期"),
    "price": ("price", "list price", "unit price", "售價", "價格", "价格"),
    "policy": ("policy", "rule", "政策"),
    "value": ("value", "setting", "值"),
}
# Address parts with no canonical field: beside a street, city or postcode column, a column of one of these names
# is part of the address (FEBRL's and US exports' `state`), not the record's status.
ADDRESS_PARTS = {"state", "province", "state province", "region", "county", "country", "縣", "省", "州"}
# Extra identifiers a customers export may carry (`identifiers:` name -> column names that mean it): evidence for
# identity once `identity.keys` or `identity.probabilistic.identifiers` lists the name (README "Tuning matching")
IDENTIFIERS = {
    "national_id": ("ssn", "soc sec id", "social security number", "social security no", "national id",
                    "national id number", "national insurance number", "nino", "id number", "id no",
                    "identity number", "citizen id", "身分證字號", "身份證字號", "身分證號", "身份证号", "身份证号码"),
    "tax_id": ("tax id", "tin", "taxpayer id", "vat number", "vat id", "統一編號", "統編", "税号"),
    "passport_no": ("passport", "passport no", "passport number", "護照號碼", "护照号码"),
}
# a street number in a column of its own, assembled with the street (`street: street_number || ' ' || ...`)
STREET_NUMBER = {"street number", "street no", "house number", "house no", "building number", "門牌", "门牌号"}
# ... and a unit / apartment in one, after the street
STREET_UNIT = {"unit", "unit number", "unit no", "apartment", "apartment number", "apt", "suite", "flat"}
# single words that mean a field only as the whole column name, never as its last word (`street_name`,
# `employer_name`, `product_name` are not a person's name)
NO_SUFFIX = {"name"}
# a column whose name starts with one of these is about an organisation (a W-2's employer address, a store's
# phone), never the person's own name, address or contact details
ORG_WORDS = {"employer", "company", "business", "vendor", "supplier", "store", "shop", "office", "work",
             "merchant", "branch", "warehouse"}
PERSON_FIELDS = {"full_name", "first_name", "middle_name", "last_name", "email", "phone", "street", "city",
                 "postcode", "birth_date"}
# a US social security number is not a phone number
SSN_RE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
# Field type -> the shapes a column mapped to it may have (a name match against another shape is commented).
FITS = {
    "timestamp": {"date", "timestamp", "roc", "epoch_s", "epoch_ms", "epoch_us"},
    "date": {"date", "timestamp", "roc"},
    "integer": {"integer", "boolean"},
    "decimal": {"integer", "decimal"},
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
ID_RE = re.compile(r"^[\w\-.:#/]{1,64}$")
IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
BOOLEANS = {"true", "false", "yes", "no", "y", "n", "t", "f", "0", "1", "是", "否", "有", "無", "on", "off"}
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$")
ROC_RE = re.compile(r"^(\d{2,3})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
# strftime patterns tried on values that are not ISO-8601, the more specific first; the first that reads
# every sampled value wins (when day and month could be swapped, a comment says so)
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y, %I:%M %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%d-%m-%Y", "%m-%d-%Y", "%d %b %Y", "%b %d, %Y", "%d-%b-%Y", "%Y年%m月%d日",
)
NUMBER_RES = {  # number style -> regex of a value written in it (currency symbols and spaces removed)
    "plain": re.compile(r"^[+-]?\d+(\.\d+)?$"),
    "comma_thousands": re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"),
    "dot_thousands": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"),
    "comma_decimal": re.compile(r"^[+-]?\d+,\d+$"),
}
CURRENCY_RE = re.compile(r"NT\$|US\$|[$€£¥]|\s")


@dataclass
class Column:
    """What the sample says about one export column: its shape, format and counts (never its values)."""

    name: str
    shape: str                  # empty, boolean, email, phone, integer, decimal, date, timestamp, roc,
    #                             epoch_s, epoch_ms, epoch_us, json, id, text
    values: int = 0             # non-empty values in the sample
    distinct: int = 0
    fmt: str | None = None      # date/timestamp: iso8601 or a strftime pattern; decimal: number style
    note: str = ""              # what else the sample showed (ambiguities)


@dataclass
class Draft:
    """A proposed source entry: how to read the file, its kind, field mappings and what was left out."""

    format: Format
    encoding: str = "utf-8"
    delimiter: str = ","
    table: str | None = None
    footer_lines: int = 0       # csv: lines at the end that are not rows (a report's footer)
    rows: int = 0
    columns: list[Column] = field(default_factory=list)
    kind: str = ""
    kind_note: str = ""
    mapping: dict[str, tuple[str, str]] = field(default_factory=dict)       # field -> (column, why)
    expressions: dict[str, tuple[str, str]] = field(default_factory=dict)   # field -> (expression, why)
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)     # field -> (value, why)
    keys: dict[str, tuple[str, list[str], str]] = field(default_factory=dict)  # field -> (hash|line_number, columns, why)
    merge: str = ""             # why `merge: true` is proposed ("" when it is not)
    formats: dict[str, str] = field(default_factory=dict)
    number_format: dict[str, str] | None = None
    identifiers: dict[str, tuple[str, str]] = field(default_factory=dict)   # name -> (column, why)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)     # field -> {export value: canonical}
    attributes: list[str] | None = None   # the unmapped columns kept (None: all)
    phone_region: tuple[str, int, int] | None = None  # (region, valid in it, sampled without a country code)
    notes: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    """A column name compared by meaning: NFKC, camelCase split, lower case, `#` as "no", punctuation to single
    spaces."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).lower().replace("#", " no ")
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def _about_org(name: str) -> bool:
    """True for a column name whose first word is an ORG_WORDS one (`employer_address`, `store phone`)."""
    words = _norm(name).split()
    return bool(words) and words[0] in ORG_WORDS


def _unqualified(name: str) -> str:
    """A column name without its parenthesised qualifiers: WooCommerce's `Email (Billing)`, `Quantity (- Refund)`."""
    return _norm(re.sub(r"\([^)]*\)", " ", name))


def sniff_format(path: Path) -> Format:
    """The reader a file needs, from its name (a compression suffix looked through) and, for .json, its
    first character (`[` or one object per line)."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and (suffixes[-1] in COMPRESSED or suffixes[-1] == ".zip"):
        suffixes.pop()
    ext = suffixes[-1] if suffixes else ""
    by_ext: dict[str, Format] = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv", ".jsonl": "jsonl",
                                 ".ndjson": "jsonl", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
                                 ".parquet": "parquet", ".sqlite": "sqlite", ".db": "sqlite", ".sqlite3": "sqlite"}
    if ext == ".json":
        with open_export(path) as fh:
            head = fh.read(1 << 16).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
        lines = [ln for ln in head.splitlines() if ln.strip()]
        one_object_per_line = len(lines) > 1 and all(ln.strip().startswith("{") and ln.strip().endswith("}")
                                                       for ln in lines[:-1])
        return "jsonl" if head.startswith("{") and one_object_per_line else "json"
    if ext not in by_ext:
        raise ValueError(f"{path.name}: cannot tell the format from its name (csv, tsv, txt, json, jsonl, ndjson, "
                         "xlsx, parquet, sqlite, optionally .gz/.bz2/.zst/.zip)")
    return by_ext[ext]


def sniff_encoding(head: bytes) -> tuple[str, str]:
    """(encoding, why) of a text file's first bytes: a byte order mark, else the first of UTF-8, Big5 (cp950),
    GB18030, Shift-JIS and cp1252 that decodes them all."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "a UTF-8 byte order mark"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "a UTF-16 byte order mark"
    for enc in ("utf-8", "cp950", "gb18030", "shift_jis", "cp1252"):
        try:
            head.decode(enc)
        except UnicodeDecodeError as exc:
            if enc == "utf-8" and exc.start > len(head) - 4:  # a character cut at the end of the sample
                return enc, "decodes as UTF-8"
            continue
        return enc, "decodes as UTF-8" if enc == "utf-8" else f"not UTF-8; the first sample bytes decode as {enc}"
    return "latin-1", "no common encoding decodes it: check"


def sniff_delimiter(text: str, suffix: str) -> str:
    """The CSV delimiter: tab for .tsv, else the one of `, ; \\t |` that splits the first lines into the same
    number of fields (csv.Sniffer, restricted to those)."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) if sample else 0 for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


DATE_SHARE = 0.95  # a date format that reads this share of a column's values fits it (real exports have typos)


def _date_format(values: list[str]) -> tuple[str | None, str]:
    """(format, note) of date-like text: iso8601, roc or a strftime pattern that reads every value, else the one
    that reads the most, at least DATE_SHARE of them (the others become `parse:` warnings, said in the note);
    (None, '') when not dates."""
    iso = sum(1 for v in values if ISO_RE.match(v))
    if iso == len(values):
        return "iso8601", ""
    read: dict[str, int] = {}
    allowed = (1 - DATE_SHARE) * len(values)  # misses after which a format cannot fit (stops early on text)
    for fmt in DATE_FORMATS:
        n = misses = 0
        for v in values:
            try:
                datetime.strptime(v, fmt)
                n += 1
            except ValueError:
                misses += 1
                if misses > allowed:
                    break
        read[fmt] = n if misses <= allowed else 0
    best = max(read.values())
    fits = [f for f in DATE_FORMATS if read[f] == best]
    if best == len(values) or (best >= DATE_SHARE * len(values) and best > iso):
        swapped = [f for f in fits[1:] if set(f.replace("%d", "%m")) == set(fits[0].replace("%d", "%m"))
                   and f.replace("%d", "§").replace("%m", "%d").replace("§", "%m") == fits[0]]
        notes = [f"day and month could be swapped ({swapped[0]} fits too): check"] if swapped else []
        if best < len(values):
            notes.append(f"{len(values) - best:,} of {len(values):,} sampled values do not read as {fits[0]} "
                         "(each such row: a parse:<field> warning, the value null)")
        return fits[0], "; ".join(notes)
    if iso >= DATE_SHARE * len(values):
        return "iso8601", (f"{len(values) - iso:,} of {len(values):,} sampled values are not ISO-8601 "
                           "(each such row: a parse:<field> warning, the value null)")
    if all(ROC_RE.match(v) and int(ROC_RE.match(v).group(1)) < 200 for v in values):
        return "roc", "Taiwan (Minguo) calendar: year 1 = 1912"
    return None, ""


def classify(name: str, values: list[str]) -> Column:
    """The shape of a column from its non-empty sampled values (text, stripped)."""
    col = Column(name, "empty", len(values), len(set(values)))
    if not values:
        return col
    low = {v.lower() for v in values}
    share = lambda pred: sum(1 for v in values if pred(v)) / len(values)  # noqa: E731
    if values[0][:1] in "[{" and share(lambda v: v[:1] in "[{") == 1:
        col.shape = "json"
    elif low <= BOOLEANS and len(low) <= 2 and not (low <= {"0", "1"} and "flag" not in _norm(name)
                                                    and len(values) < 3):
        col.shape = "boolean"
    elif share(EMAIL_RE.match) >= 0.8:
        col.shape = "email"
        if share(EMAIL_RE.match) < 1:
            col.note = f"{share(EMAIL_RE.match):.0%} look like email addresses"
    elif all(re.fullmatch(r"\d+", v) for v in values) and {len(v) for v in values} <= {10, 13, 16} and \
            len({len(v) for v in values}) == 1 and 946_684_800 <= int(values[0][:10]) <= 4_102_444_800:
        col.shape = {10: "epoch_s", 13: "epoch_ms", 16: "epoch_us"}[len(values[0])]
    elif (fmt_note := _date_format(values))[0]:
        fmt, col.note = fmt_note
        has_time = fmt == "iso8601" and any(len(v) > 10 for v in values) or "%H" in fmt or "%I" in fmt or (
            fmt == "roc" and any(":" in v for v in values))
        col.shape = "roc" if fmt == "roc" else "timestamp" if has_time else "date"
        col.fmt = fmt
    elif share(lambda v: PHONE_RE.match(v) and 7 <= sum(c.isdigit() for c in v) <= 15 and not IPV4_RE.match(v)
               and not SSN_RE.match(v)
               and (v.startswith(("+", "0", "(")) or re.search(r"[\s\-.()]", v))) >= 0.8:
        col.shape = "phone"
    elif all(re.fullmatch(r"[+-]?\d+", v) for v in values):
        col.shape = "integer"
    elif (style := _number_style(values)) is not None:
        col.shape, col.fmt = "decimal", style
        if style == "ambiguous":
            col.note = "values like 1,234 could be 1234 or 1.234: declare number_format"
    elif col.distinct >= 0.9 * len(values) and all(ID_RE.match(v) and any(c.isdigit() for c in v)
                                                   and "://" not in v for v in values):
        col.shape = "id"
    else:
        col.shape = "text"
    return col


def _number_style(values: list[str]) -> str | None:
    """How decimals are written (plain, comma_thousands, dot_thousands, comma_decimal, ambiguous), or None."""
    styles = Counter()
    for v in values:
        s = CURRENCY_RE.sub("", v)
        hits = [k for k, rx in NUMBER_RES.items() if rx.match(s)]
        if not hits:
            return None
        styles[hits[0] if len(hits) == 1 else "plain" if "plain" in hits else "ambiguous"] += 1
    decided = [s for s in styles if s not in ("plain", "ambiguous")]
    if len(decided) > 1 and set(decided) != {"dot_thousands", "comma_decimal"}:
        return "ambiguous"
    if "dot_thousands" in decided or "comma_decimal" in decided:
        return "comma_decimal"
    if decided:
        return decided[0]
    return "ambiguous" if styles.get("ambiguous") else "plain"


def _name_score(column: str, fld: str) -> int:
    """How well a column name means a field: 3 the same, 2 the field's words end the name (`Billing Phone`),
    1 a Chinese synonym inside the name, 0 not at all."""
    if "(" in column and _unqualified(column) and _unqualified(column) != _norm(column):
        return max(_name_score(_unqualified(column), fld), _name_score(column.replace("(", " ").replace(")", " "), fld))
    n = _norm(column)
    names = (fld.replace("_", " "), *SYNONYMS.get(fld, ()))
    if n in names or n.replace(" ", "") in {s.replace(" ", "") for s in names}:
        return 3
    words = n.split()
    for s in names:
        sw = s.split()
        if s.isascii() and len(sw) <= len(words) and words[-len(sw):] == sw and (len(sw) > 1 or len(s) > 2) \
                and s not in NO_SUFFIX:
            return 2
    if any(not s.isascii() and len(s) >= 2 and s in n for s in names):
        return 1
    return 0


def _shape_fits(col: Column, fld: str, kind: str) -> bool:
    spec = KINDS[kind][fld]
    if col.shape == "empty":
        return True
    if spec.type in FITS:
        return col.shape in FITS[spec.type]
    if fld == "email":
        return col.shape == "email"
    if fld == "phone":
        return col.shape in ("phone", "integer")
    return col.shape not in ("json",) or spec.type == "json"


def _propose(columns: list[Column], kind: str) -> tuple[dict[str, tuple[str, str]], int]:
    """(field -> (column, why), score) for one kind: each field its best-named column whose shape fits, then
    email and phone columns by their values alone."""
    candidates = []
    address = any(_name_score(c.name, f) >= 2 for c in columns for f in ("street", "city", "postcode"))
    identifier_names = {s for names in IDENTIFIERS.values() for s in names}
    for col in columns:
        if col.shape == "empty":  # nothing in the sample says what it holds
            continue
        words = _norm(col.name).split()
        for fld in KINDS[kind]:
            if fld == "status" and address and (_norm(col.name) in ADDRESS_PARTS or words[-1:] and
                                                 words[-1] in ADDRESS_PARTS):
                continue
            if fld in PERSON_FIELDS and _about_org(col.name):
                continue
            score = _name_score(col.name, fld)
            if score and _shape_fits(col, fld, kind):
                # between names as good, a timestamp field prefers a column with the time of day
                exact = KINDS[kind][fld].type == "timestamp" and col.shape != "date"
                candidates.append((score, exact, -columns.index(col), fld, col))
    mapping: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for score, _, _, fld, col in sorted(candidates, key=lambda c: (-c[0], not c[1], -c[2])):
        if fld in mapping or col.name in used:
            continue
        why = "by name" if score == 3 else "by name (guessed: check)" if score == 2 else "by name (Chinese)"
        mapping[fld] = (col.name, f"{why}; values: {describe(col)}")
        used.add(col.name)
    for shape, fld in (("email", "email"), ("phone", "phone")):
        if fld in KINDS[kind] and fld not in mapping:
            found = [c for c in columns if c.shape == shape and c.name not in used
                     and _norm(c.name) not in identifier_names
                     and not _about_org(c.name)]
            if found:
                mapping[fld] = (found[0].name, f"guessed from its values ({describe(found[0])}): check")
                used.add(found[0].name)
    required = [f for f, s in KINDS[kind].items() if s.required]
    score = sum(3 if f in required else 1 for f in mapping) - sum(1 for f in required if f not in mapping)
    return mapping, score


def describe(col: Column) -> str:
    """A column's shape in words, without any value."""
    text = col.shape
    if col.fmt and col.shape in ("date", "timestamp"):
        text += f" {col.fmt}"
    elif col.shape == "decimal" and col.fmt not in (None, "plain"):
        text += f" ({col.fmt.replace('_', ' ')})"
    elif col.shape == "roc":
        text = "ROC (Minguo) date"
    elif col.shape.startswith("epoch"):
        text = {"epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds", "epoch_us": "epoch microseconds"}[
            col.shape]
    if col.shape not in ("empty",):
        text += f", {col.distinct:,} distinct of {col.values:,}"
    return text + (f"; {col.note}" if col.note else "")


def draft(path: Path, kind: str | None = None) -> Draft:
    """Sniff `path` and propose a source entry of `kind` (proposed when None). Raises ValueError when the
    file cannot be read (the readers' message: file and line)."""
    fmt = sniff_format(path)
    d = Draft(format=fmt)
    if fmt in ("csv", "json", "jsonl"):
        with open_export(path) as fh:
            head = fh.read(1 << 16)
        d.encoding, why = sniff_encoding(head)
        if d.encoding != "utf-8":
            d.notes.append(f"encoding {d.encoding}: {why}")
        if fmt == "csv":
            suffix = next((s.lower() for s in reversed(path.suffixes) if s.lower() not in COMPRESSED), "")
            text = head.decode(d.encoding if d.encoding != "utf-16" else "utf-16", "replace").lstrip("\ufeff")
            d.delimiter = sniff_delimiter(text, suffix)
            width = len(next(csv.reader(text.splitlines()[:1], delimiter=d.delimiter), []))
            d.footer_lines = footer_start(path, d.encoding, d.delimiter, width, FOOTER_MAX)[1]
    if fmt == "sqlite":
        import sqlite3

        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type in ('table','view') "
                                                "order by name")]
        finally:
            con.close()
        d.table = tables[0] if tables else None
        if len(tables) > 1:
            d.notes.append(f"the file holds {len(tables)} tables; drafted the first, {d.table!r}")
    probe = SourceConfig.model_construct(system="draft", entity="draft", format=fmt, encoding=d.encoding,
                                         delimiter=d.delimiter, table=d.table, sheet=None,
                                         footer_lines=d.footer_lines)
    from connectors.readers import ExportError

    try:
        table = read_export(path, probe, path.name)
    except ExportError as exc:
        raise ValueError(str(exc)) from None
    d.rows = table.num_rows
    sample = table.slice(0, SAMPLE_ROWS)
    for name in sample.column_names:
        if name in LINEAGE:
            continue
        values = [v.strip() for v in sample.column(name).to_pylist() if v is not None and v.strip()]
        d.columns.append(classify(name, values))
    header_like = [c for c in d.columns if EMAIL_RE.match(c.name) or ISO_RE.match(c.name)
                   or sum(ch.isdigit() for ch in c.name) >= 6]
    if fmt == "csv" and header_like:
        d.notes.append(f"{len(header_like)} column name(s) look like data: the file may have no header row "
                       "(the readers need one: add it)")
    _choose_kind(d, kind)
    _complete(d)
    if "phone" in d.mapping:
        values = [v.strip() for v in sample.column(d.mapping["phone"][0]).to_pylist() if v and v.strip()]
        d.phone_region = phone_region(values)
    if "order_status" in d.mapping:
        _status_map(d, {v.strip() for v in sample.column(d.mapping["order_status"][0]).to_pylist() if v and v.strip()})
    return d


def customers_companion(path: Path, order: Draft) -> Draft | None:
    """A second entry over an order-lines export that carries its customers' details (a shop's billing email,
    name, phone on every line; not an id alone): `kind: customers`, one record per customer key (`merge: true`), so that the
    orders join the customer and the customer joins the other silos. The orders entry gets the key as `login_id`
    when it has no customer key yet. None when the export names no customer."""
    if order.kind != "order_lines":
        return None
    key = next((order.mapping[f][0] for f in ("login_id", "loyalty_id") if f in order.mapping), None)
    if key is None:
        emails = [c for c in order.columns if c.shape == "email" or _name_score(c.name, "email") >= 2]
        if not emails:
            return None
        key = emails[0].name
        order.mapping["login_id"] = (key, "the customer's email ties each line to its customer record (the "
                                          "customers entry below)")
    c = draft(path, "customers")
    if not {"email", "phone", "full_name", "first_name", "last_name"} & set(c.mapping):
        if order.mapping.get("login_id", ("", ""))[1].startswith("the customer's email"):
            order.mapping.pop("login_id")
        return None  # an id alone (a sales export's Customer ID): the order lines carry it already
    used = {col for col, _ in order.mapping.values()} - {key}
    c.mapping = {f: m for f, m in c.mapping.items() if m[0] not in used and f not in ("record_id", "login_id",
                                                                                       "loyalty_id")}
    c.keys.pop("record_id", None)
    c.mapping = {"record_id": (key, "the customer key of the order lines: one record per customer"),
                 **({"loyalty_id": (key, "as on the order lines")} if order.mapping.get("loyalty_id", ("",))[0] == key
                    else {"login_id": (key, "as on the order lines")}), **c.mapping}
    c.merge = ("each customer repeats on every line of their orders: the first row is kept, the others counted "
               "as merged")
    c.attributes = []
    return c


# order statuses of shop and POS platforms (Shopify, WooCommerce, Magento, Square...) -> the canonical ones
ORDER_STATUS_SYNONYMS = {
    "completed": ("complete", "completed", "paid", "fulfilled", "delivered", "shipped", "closed", "success",
                  "succeeded", "authorized", "partially paid", "partially_paid", "partially fulfilled", "已完成", "完成",
                  "已付款", "已出貨", "已送達"),
    "pending": ("pending", "processing", "on-hold", "on hold", "awaiting payment", "unpaid", "open", "new",
                "unfulfilled", "partially shipped", "待付款", "處理中", "待出貨", "处理中", "待付款"),
    "cancelled": ("cancelled", "canceled", "voided", "void", "failed", "declined", "expired", "abandoned", "已取消",
                  "取消", "已作廢"),
    "returned": ("returned", "refunded", "partially refunded", "partially_refunded", "return", "refund", "已退貨",
                 "退貨", "已退款", "退款", "已退货", "退货"),
}


def _status_map(d: Draft, values: set[str]) -> None:
    """value_maps for the sampled order statuses that are not canonical but mean one; the others are said."""
    lookup = {syn.lower(): canon for canon, syns in ORDER_STATUS_SYNONYMS.items() for syn in syns}
    mapped, unknown = {}, []
    for v in sorted(values):
        if v.lower() in ORDER_STATUSES:  # read case-blind
            continue
        canon = lookup.get(v.lower()) or lookup.get(v.lower().replace("_", " ").replace("-", " "))
        if canon:
            mapped[v] = canon
        else:
            unknown.append(v)
    if mapped:
        d.value_maps["order_status"] = mapped
    if unknown:
        d.notes.append(f"order_status: {len(unknown)} sampled value(s) mean none of {list(ORDER_STATUSES)}: rows "
                       "with them are quarantined until value_maps maps them")


# countries tried for phone numbers written without a country code, the first winning ties
PHONE_REGIONS = ("TW", "US", "GB", "CN", "HK", "JP", "SG", "AU", "DE", "FR", "CA", "IN", "MY", "KR", "NL", "ES", "IT")


def phone_region(values: list[str]) -> tuple[str, int, int]:
    """(region, numbers valid in it, numbers without a country code) for the sampled phone numbers: the country
    in which most of those written without `+` are valid numbers (phonenumbers' metadata)."""
    import phonenumbers

    local = [v for v in values[:500] if not v.lstrip().startswith(("+", "00"))]
    best = ("TW", 0)
    for region in PHONE_REGIONS:
        valid = 0
        for v in local:
            try:
                valid += phonenumbers.is_valid_number(phonenumbers.parse(v, region))
            except phonenumbers.NumberParseException:
                pass
        if valid > best[1]:
            best = (region, valid)
    return best[0], best[1], len(local)


def _choose_kind(d: Draft, kind: str | None) -> None:
    scores = {k: _propose(d.columns, k) for k in KINDS}
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {sorted(KINDS)}")
        d.kind, (d.mapping, _) = kind, scores[kind]
        return
    ranked = sorted(scores, key=lambda k: (-scores[k][1], list(KINDS).index(k)))
    d.kind, (d.mapping, _) = ranked[0], scores[ranked[0]]
    runners = ", ".join(f"{k} {len(scores[k][0])}" for k in ranked[1:3])
    d.kind_note = (f"guessed: {len(d.mapping)} of its fields found ({runners} for the next kinds); "
                   "--kind to choose")


def _complete(d: Draft) -> None:
    """Formats, number format, and the required fields no column gave (a synthetic key, or a constant
    marked to be set) so that the entry passes `sources check`."""
    by_name = {c.name: c for c in d.columns}
    schema = KINDS[d.kind]
    for fld, (col_name, _) in list(d.mapping.items()):
        col = by_name[col_name]
        if schema[fld].type in ("date", "timestamp"):
            if col.shape in ("epoch_s", "epoch_ms", "epoch_us"):
                d.formats[fld] = col.shape
            elif col.fmt and col.fmt != "iso8601":
                d.formats[fld] = col.fmt
    decimals = [by_name[c] for f, (c, _) in d.mapping.items() if schema[f].type == "decimal"]
    if any(c.fmt == "comma_decimal" for c in decimals):
        d.number_format = {"decimal": ",", "thousands": "."}
    if "identifiers" in schema:
        _identifiers(d)
    row_cols = [c.name for c in d.columns if c.shape != "empty"]
    for fld, spec in schema.items():
        if not spec.required or fld in d.mapping or fld in d.expressions:
            continue
        if fld in ("order_id", "event_id", "record_id") and row_cols:
            d.keys[fld] = ("hash", row_cols, "no id column: a hash of the whole row (rows repeated exactly share "
                                             "it and are quarantined as duplicates): check")
        elif fld == "line_no" and "order_id" in d.mapping:
            d.keys[fld] = ("line_number", [d.mapping["order_id"][0]],
                           "no line number: 1, 2, ... within the order, in file order")
        elif fld == "line_no":
            d.constants[fld] = ("1", "no line number: each row is its own order (its order_id is unique)")
        elif fld == "unit_list_price" and "unit_price_paid" in d.mapping:
            d.expressions[fld] = (_ident(d.mapping["unit_price_paid"][0]), "no list price: the price paid")
        else:
            d.constants[fld] = (_PLACEHOLDER.get(fld, _PLACEHOLDER.get(spec.type, "unknown")),
                                "REQUIRED and not found in the export: a placeholder, set it")
    key = UNIQUE_KEYS[d.kind]
    if len(key) == 1 and key[0] in d.mapping and d.kind in ("customers", "products"):
        col = by_name[d.mapping[key[0]][0]]
        if col.values and col.distinct < col.values:
            d.merge = (f"{key[0]} repeats ({col.distinct:,} distinct of {col.values:,} in the sample): one "
                       f"{'customer' if d.kind == 'customers' else 'product'} on many rows; the first row is kept, the "
                       "others counted as merged (false: quarantined as duplicates)")


def _identifiers(d: Draft) -> None:
    """Extra identifier columns (national id, tax id, passport) as `identifiers:`, and a street number kept in a
    column of its own assembled with the street."""
    used = {c for c, _ in d.mapping.values()}
    for name, synonyms in IDENTIFIERS.items():
        col = next((c for c in d.columns if c.name not in used and c.shape != "empty" and _norm(c.name) in synonyms),
                   None)
        if col is not None:
            d.identifiers[name] = (col.name, f"by name; values: {describe(col)}; evidence only once "
                                             f"identity.keys or identity.probabilistic.identifiers lists {name}")
            used.add(col.name)
    if "street" not in d.mapping:
        return
    street = by_name(d, d.mapping["street"][0])
    # the street's own qualifier (`mailing_address_street_name` -> `mailing address`): its number and unit share it
    prefix = " ".join(w for w in _norm(street.name).split() if w not in {"street", "name", "address", "line", "1"})

    def part(names: set[str]) -> Column | None:
        found = [c for c in d.columns if c.name not in used and c.shape != "empty"
                 and any(_norm(c.name) == n or _norm(c.name).endswith(" " + n) for n in names)
                 and not _about_org(c.name)]
        return next((c for c in found if _norm(c.name).startswith(prefix)), None) if prefix else \
            next((c for c in found if _norm(c.name) in names), None)

    number, unit = part(STREET_NUMBER), part(STREET_UNIT)
    if number is not None or unit is not None:
        d.mapping.pop("street")
        parts = [c for c in (number, street, unit) if c is not None]
        d.expressions["street"] = (f"concat_ws(' ', {', '.join(f'trim({_ident(c.name)})' for c in parts)})",
                                   f"the street from {len(parts)} columns ({', '.join(c.name for c in parts)}; "
                                   "a missing part is skipped)")


def by_name(d: Draft, name: str) -> Column:
    return next(c for c in d.columns if c.name == name)


_PLACEHOLDER = {"currency": "XXX", "channel": "unknown", "string": "unknown", "timestamp": "1970-01-01T00:00:00Z",
                "date": "1970-01-01", "decimal": "0",
                "integer": "0"}


def _ident(name: str) -> str:
    """A column name as a DuckDB identifier in an expression."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _scalar(value: object) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip().removesuffix(
        "\n...").removesuffix("...").strip()


def to_yaml(d: Draft, system: str, entity: str, path_glob: str) -> str:
    """The draft as one entry of the `sources:` list (YAML text, two-space indent), commented."""
    pad = "    "
    lines = [f"  - system: {system}", f"{pad}entity: {entity}",
             f"{pad}kind: {d.kind}" + (f"  # {d.kind_note}" if d.kind_note else ""),
             f"{pad}format: {d.format}", f"{pad}path: {_scalar(path_glob)}"]
    if d.format in ("csv", "json", "jsonl") and d.encoding != "utf-8":
        lines.append(f"{pad}encoding: {d.encoding}")
    if d.format == "csv" and d.delimiter != ",":
        lines.append(f"{pad}delimiter: {_scalar(d.delimiter)}")
    if d.table:
        lines.append(f"{pad}table: {_scalar(d.table)}")
    if d.footer_lines:
        lines.append(f"{pad}footer_lines: {d.footer_lines}  # the file ends with {d.footer_lines} line(s) that are not rows "
                     "(a report's footer): skipped")
    mapped_types = {KINDS[d.kind][f].type for f in (*d.mapping, *d.expressions, *d.keys)}
    if mapped_types & {"timestamp"}:
        lines.append(f"{pad}timezone: UTC             # guessed: the zone of timestamps written without an offset")
    if {"phone"} & set(d.mapping):
        region, valid, local = d.phone_region or ("TW", 0, 0)
        why = (f"{valid:,} of {local:,} sampled numbers without a country code are valid there" if local else
               "no sampled number lacks a country code")
        lines.append(f"{pad}default_region: {region}        # guessed: the country of phone numbers without a "
                     f"country code ({why})")
    lines.append(f"{pad}columns:" + ("" if d.mapping else " {}"))
    if d.mapping:
        width = max(len(f"{f}: {_scalar(c)}") for f, (c, _) in d.mapping.items())
        for fld in KINDS[d.kind]:
            if fld in d.mapping:
                col, why = d.mapping[fld]
                entry = f"{fld}: {_scalar(col)}"
                lines.append(f"{pad}  {entry.ljust(width)}  # {why}")
    if d.expressions:
        lines.append(f"{pad}expressions:")
        for fld, (text, why) in d.expressions.items():
            lines.append(f"{pad}  {fld}: {_scalar(text)}  # {why}")
    if d.identifiers:
        width = max(len(f"{n}: {_scalar(c)}") for n, (c, _) in d.identifiers.items())
        lines.append(f"{pad}identifiers:")
        for name, (col, why) in d.identifiers.items():
            lines.append(f"{pad}  {f'{name}: {_scalar(col)}'.ljust(width)}  # {why}")
    if d.keys:
        lines.append(f"{pad}keys:")
        for fld, (how, cols, why) in d.keys.items():
            lines.append(f"{pad}  {fld}: {{{how}: {_scalar(cols)}}}  # {why}")
    if d.merge:
        lines.append(f"{pad}merge: true  # {d.merge}")
    if d.attributes is not None:
        lines.append(f"{pad}attributes: {_scalar(d.attributes)}  # the other columns belong to the orders entry")
    if d.constants:
        lines.append(f"{pad}constants:")
        for fld, (value, why) in d.constants.items():
            lines.append(f"{pad}  {fld}: {_scalar(value)}  # {why}")
    if d.formats:
        lines.append(f"{pad}formats: {{{', '.join(f'{k}: {_scalar(v)}' for k, v in d.formats.items())}}}")
    if d.value_maps:
        lines.append(f"{pad}value_maps:  # the export's values that mean a canonical one (guessed: check)")
        for fld, vm in d.value_maps.items():
            lines.append(f"{pad}  {fld}: {{{', '.join(f'{_scalar(k)}: {_scalar(v)}' for k, v in vm.items())}}}")
    if d.number_format:
        lines.append(f"{pad}number_format: {{decimal: {_scalar(d.number_format['decimal'])}, "
                     f"thousands: {_scalar(d.number_format['thousands'])}}}  # decimals written 1.234,56")
    shapes = {f: f for f in ("email", "phone") if f in d.mapping}
    if shapes:
        lines.append(f"{pad}contract:")
        lines.append(f"{pad}  shapes: {{{', '.join(f'{f}: {f}' for f in shapes)}}}")
        lines.append(f"{pad}  severity: {{{', '.join(f'{chr(34)}shape:{f}{chr(34)}: warn' for f in shapes)}}}"
                     "  # a malformed one is counted, the row kept")
    # a column only hashed into a synthetic key is still not loaded as a field of its own
    used = ({c for c, _ in d.mapping.values()} | {c for t, _ in d.expressions.values() for c in _columns_in(t, d)}
            | {c for c, _ in d.identifiers.values()}
            | {c for how, cols, _ in d.keys.values() if how == "line_number" for c in cols})
    left = [c for c in d.columns if c.name not in used]
    if left and d.attributes is not None:
        lines.append(f"{pad}# {len(left)} other column(s) not mapped and not kept here")
    elif left:
        lines.append(f"{pad}# not mapped (kept in `attributes`, personal-looking values by their shape): map a field "
                     f"of kind {d.kind} where one fits")
        for c in left:
            hint = ("part of the address (no canonical field)" if _norm(c.name) in ADDRESS_PARTS
                    and any(f in d.mapping or f in d.expressions for f in ("street", "city", "postcode"))
                    else _other_field(c, d.kind))
            lines.append(f"{pad}#   {_scalar(c.name)}: {describe(c)}" + (f"; {hint}" if hint.startswith("part") else f"; could be {hint}" if hint else ""))
    for note in d.notes:
        lines.append(f"{pad}# note: {note}")
    return "\n".join(lines) + "\n"


def _columns_in(text: str, d: Draft) -> list[str]:
    return [c.name for c in d.columns if _ident(c.name) in text]


def _other_field(col: Column, kind: str) -> str:
    """A canonical field of another kind the column's name means (the export may feed that kind too)."""
    for other, schema in KINDS.items():
        if other == kind:
            continue
        for fld in schema:
            if _name_score(col.name, fld) >= 2:
                return f"{other}.{fld}"
    return ""
