"""Deterministic demo-data generator for the "Lumen Living" silos.

The exported layout (paths, encodings, headers, formats) is the contract described in
``docs/demo_exports.md``; the pipeline's config maps those column names, so do not rename them.

Design notes
------------
* Pure standard library.  Every random decision comes from ``random.Random`` instances seeded
  from ``seed`` and a fixed stream name (string seeds are hashed with SHA-512 by ``random``, so
  they do not depend on ``PYTHONHASHSEED``).  One stream per concern keeps the systems
  independent of each other's draw counts.  Nothing reads the clock, iterates a set, or relies on
  hash ordering; every export is sorted explicitly.  Same arguments -> byte-identical files.
* Time is handled as integer epoch seconds (UTC).  The business runs in Asia/Taipei (UTC+8, no
  DST): "day" always means the Taipei calendar day.  The window is ``days`` Taipei days ending on
  ``end_date`` inclusive; the export moment is the end of ``end_date`` (nothing happens later).
* Analytics files are partitioned by the Taipei calendar day of the event (one file per day of
  the window); ``ts`` inside is UTC epoch milliseconds.
* Money is kept in integer cents: list prices are whole TWD and discounts whole percents, so the
  discounted price ``round(list * (1 - pct/100), 2)`` is exact and printed with 2 decimals.
* Everything that goes into the Big5 files is traditional Chinese / ASCII / full-width digits;
  the files are written with ``encoding="big5"`` (strict), so an unencodable character would fail
  loudly instead of being replaced.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from random import Random

__all__ = ["generate"]

# --------------------------------------------------------------------------------------------
# Reference data (inline, no Faker)
# --------------------------------------------------------------------------------------------

# (traditional surname, Taiwan romanisation, relative frequency)
_SURNAMES = [
    ("陳", "chen", 11), ("林", "lin", 8), ("黃", "huang", 6), ("張", "chang", 5), ("李", "lee", 5),
    ("王", "wang", 4), ("吳", "wu", 4), ("劉", "liu", 3), ("蔡", "tsai", 3), ("楊", "yang", 3),
    ("許", "hsu", 2), ("鄭", "cheng", 2), ("謝", "hsieh", 2), ("郭", "kuo", 2), ("洪", "hung", 2),
    ("曾", "tseng", 2), ("邱", "chiu", 2), ("廖", "liao", 2), ("賴", "lai", 2), ("周", "chou", 1),
    ("葉", "yeh", 1), ("蘇", "su", 1), ("莊", "chuang", 1), ("呂", "lu", 1), ("江", "chiang", 1),
    ("何", "ho", 1), ("蕭", "hsiao", 1), ("羅", "lo", 1), ("高", "kao", 1), ("簡", "chien", 1),
    ("鍾", "chung", 1), ("游", "yu", 1), ("詹", "chan", 1), ("韓", "han", 1), ("馬", "ma", 1),
]
# (traditional given-name character, romanisation)
_GIVEN = [
    ("志", "chih"), ("明", "ming"), ("偉", "wei"), ("華", "hua"), ("國", "kuo"), ("傑", "chieh"),
    ("宏", "hung"), ("俊", "chun"), ("家", "chia"), ("豪", "hao"), ("文", "wen"), ("雅", "ya"),
    ("婷", "ting"), ("慧", "hui"), ("玲", "ling"), ("麗", "li"), ("淑", "shu"), ("貞", "chen"),
    ("鳳", "feng"), ("龍", "lung"), ("東", "tung"), ("強", "chiang"), ("輝", "hui"), ("嘉", "chia"),
    ("軒", "hsuan"), ("萬", "wan"), ("儀", "yi"), ("穎", "ying"), ("靜", "ching"), ("婉", "wan"),
    ("琪", "chi"), ("賢", "hsien"), ("書", "shu"), ("銘", "ming"), ("鴻", "hung"), ("怡", "yi"),
    ("君", "chun"), ("欣", "hsin"), ("佳", "chia"), ("美", "mei"), ("芳", "fang"), ("惠", "hui"),
    ("秀", "hsiu"), ("建", "chien"), ("信", "hsin"), ("仁", "jen"), ("德", "te"), ("安", "an"),
    ("宇", "yu"), ("哲", "che"), ("庭", "ting"), ("凱", "kai"), ("瑋", "wei"), ("維", "wei"),
    ("榮", "jung"), ("興", "hsing"), ("慶", "ching"), ("蓮", "lien"), ("義", "yi"),
]
# traditional -> simplified (only characters whose simplified form differs)
TRAD_TO_SIMP = {
    "陳": "陈", "黃": "黄", "張": "张", "劉": "刘", "楊": "杨", "吳": "吴", "鄭": "郑", "謝": "谢",
    "許": "许", "賴": "赖", "葉": "叶", "蘇": "苏", "莊": "庄", "呂": "吕", "蕭": "萧", "羅": "罗",
    "簡": "简", "鍾": "钟", "韓": "韩", "馬": "马", "偉": "伟", "華": "华", "國": "国", "傑": "杰",
    "麗": "丽", "貞": "贞", "鳳": "凤", "龍": "龙", "東": "东", "強": "强", "輝": "辉", "軒": "轩",
    "萬": "万", "儀": "仪", "穎": "颖", "靜": "静", "賢": "贤", "書": "书", "銘": "铭", "鴻": "鸿",
    "凱": "凯", "瑋": "玮", "維": "维", "榮": "荣", "興": "兴", "慶": "庆", "蓮": "莲", "義": "义",
}
_NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Jennifer": "Jen", "Michael": "Mike",
    "Richard": "Rick", "James": "Jim", "Katherine": "Kate", "Christopher": "Chris",
    "Daniel": "Dan", "Thomas": "Tom", "Joseph": "Joe", "Margaret": "Maggie", "Patricia": "Pat",
    "Anthony": "Tony", "Matthew": "Matt", "Samantha": "Sam", "Jessica": "Jess",
    "Rebecca": "Becky", "Andrew": "Andy", "Steven": "Steve", "Nicholas": "Nick",
    "Benjamin": "Ben", "Alexander": "Alex", "Victoria": "Vicky", "Timothy": "Tim",
    "Jonathan": "Jon", "Susan": "Sue", "Edward": "Ed", "David": "Dave",
}
_EN_FIRST = sorted(_NICKNAMES) + ["Emily", "Sarah", "Laura", "Kevin", "Brian", "Grace", "Olivia",
                                  "Ryan", "Emma", "Hannah"]
_EN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
    "Turner", "Parker", "Collins",
]
_EMAIL_WORDS = ["sunny", "cathy", "happy", "lulu", "momo", "kiki", "tiger", "apple", "ocean",
                "mini", "candy", "peter", "amy", "jimmy", "coco", "panda"]
_PROVIDERS = [("gmail.com", 45), ("yahoo.com.tw", 25), ("hotmail.com", 15), ("outlook.com", 15)]
_DOMAIN_TYPOS = {"gmail.com": "gmial.com", "yahoo.com.tw": "yaho.com.tw",
                 "hotmail.com": "hotmial.com", "outlook.com": "outlok.com"}

# (city, weight, [(district, real 3-digit postcode)])
_CITIES = [
    ("臺北市", 30, [("中正區", "100"), ("大同區", "103"), ("中山區", "104"), ("松山區", "105"),
                   ("大安區", "106"), ("萬華區", "108"), ("信義區", "110"), ("士林區", "111"),
                   ("北投區", "112"), ("內湖區", "114"), ("南港區", "115"), ("文山區", "116")]),
    ("新北市", 35, [("板橋區", "220"), ("汐止區", "221"), ("新店區", "231"), ("永和區", "234"),
                   ("中和區", "235"), ("土城區", "236"), ("樹林區", "238"), ("三重區", "241"),
                   ("新莊區", "242"), ("蘆洲區", "247"), ("淡水區", "251")]),
    ("臺中市", 20, [("中區", "400"), ("東區", "401"), ("南區", "402"), ("西區", "403"),
                   ("北區", "404"), ("北屯區", "406"), ("西屯區", "407"), ("南屯區", "408"),
                   ("太平區", "411"), ("大里區", "412"), ("豐原區", "420")]),
    ("高雄市", 15, [("新興區", "800"), ("前金區", "801"), ("苓雅區", "802"), ("鹽埕區", "803"),
                   ("鼓山區", "804"), ("前鎮區", "806"), ("三民區", "807"), ("楠梓區", "811"),
                   ("小港區", "812"), ("左營區", "813"), ("鳳山區", "830")]),
]
_STREETS = ["中山路", "中正路", "民生東路", "民權西路", "民族路", "復興南路", "建國北路", "和平東路",
            "忠孝東路", "仁愛路", "信義路", "光復南路", "成功路", "自由路", "文化路", "公園路",
            "博愛路", "四維路", "五福一路", "中華路", "林森北路", "南京東路", "敦化南路", "重慶南路",
            "永康街", "師大路", "大業路", "英才路", "五權路", "健行路"]
_SECTIONS = ["", "", "", "", "一段", "二段", "三段", "四段", "五段"]

_COMPANIES = [
    ("宏遠設計有限公司", "hongyuan-design"), ("大成室內裝修股份有限公司", "dacheng-interior"),
    ("晨光民宿", "morninglight-bnb"), ("青田咖啡有限公司", "qingtian-cafe"),
    ("永豐建設股份有限公司", "yongfeng-build"), ("和風餐飲有限公司", "hefeng-dining"),
    ("星河旅店股份有限公司", "xinghe-hotel"), ("木匠工作室", "muzi-studio"),
    ("港都商旅", "harbor-inn"), ("綠意辦公家具有限公司", "greenoffice"),
    ("日光幼兒園", "sunshine-kids"), ("安居物業管理股份有限公司", "anju-pm"),
    ("山嵐露營區", "shanlan-camp"), ("禾豐企業社", "hefeng-ent"),
]

# (product name, category, base price TWD)
_PRODUCTS = [
    ("Linen Duvet Cover Queen", "bedding", 2480), ("Cotton Sheet Set Double", "bedding", 1680),
    ("Down Alternative Pillow", "bedding", 890), ("Weighted Blanket 7kg", "bedding", 2990),
    ("Waffle Bath Towel", "bath", 490), ("Bamboo Bath Mat", "bath", 650),
    ("Ceramic Soap Dispenser", "bath", 390), ("Linen Look Shower Curtain", "bath", 590),
    ("Cast Iron Dutch Oven 24cm", "kitchen", 3680), ("Stoneware Dinner Plate", "kitchen", 320),
    ("Glass Storage Jar Set", "kitchen", 760), ("Chef Knife 20cm", "kitchen", 1890),
    ("Pour-over Coffee Kettle", "kitchen", 1290), ("Bamboo Cutting Board", "kitchen", 580),
    ("Rice Cooker Stand", "kitchen", 990), ("Brass Table Lamp", "lighting", 2680),
    ("LED Floor Lamp", "lighting", 3290), ("Rattan Pendant Shade", "lighting", 1590),
    ("Smart Bulb E27", "lighting", 450), ("String Lights 10m", "lighting", 390),
    ("Hinoki Scented Candle", "decor", 680), ("Oak Wall Clock", "decor", 1280),
    ("Tall Ceramic Vase", "decor", 890), ("Framed Print 50x70", "decor", 1490),
    ("Faux Olive Tree", "decor", 2290), ("Woven Storage Basket", "storage", 690),
    ("Stackable Drawer Unit", "storage", 1490), ("Shoe Rack 3-Tier", "storage", 990),
    ("Under-bed Storage Box", "storage", 590), ("Oak Side Table", "furniture", 3490),
    ("Folding Desk", "furniture", 2990), ("Walnut Bar Stool", "furniture", 2590),
    ("Bookshelf 5-Tier", "furniture", 4290), ("Floor Cushion", "textiles", 790),
    ("Blackout Curtain Pair", "textiles", 1980), ("Wool Area Rug 160x230", "textiles", 5990),
    ("Cotton Throw Blanket", "textiles", 1190), ("Linen Cushion Cover", "textiles", 450),
    ("Aroma Diffuser", "decor", 1690), ("Laundry Hamper", "storage", 790),
]
_CATEGORIES = sorted({c for _, c, _ in _PRODUCTS})
_SEARCH_TERMS = ["lamp", "towel", "duvet", "pillow", "rug", "vase", "knife", "kettle", "basket",
                 "curtain", "candle", "desk"]

# Campaign templates: (name, promo code, category, pct, valid channels, not-honoured channel)
_CAMPAIGNS = [
    ("Winter Bedding Week", "COZY15", "bedding", 15, ("web", "ios", "android", "store"), "store"),
    ("App Exclusive Decor", "APPDECOR20", "decor", 20, ("web", "ios", "android"), "android"),
    ("Kitchen Refresh", "KITCHEN10", "kitchen", 10, ("web", "store"), None),
    ("Light Up Your Home", "LIGHT25", "lighting", 25, ("web", "ios", "android", "store"), None),
    ("Bath Spa Days", "SPA15", "bath", 15, ("ios", "android"), None),
    ("Member Thanks", "THANKS20", "textiles", 20, ("web", "ios", "android", "store"), None),
]
_GENERIC_CODES = {"web": "WELCOME10", "ios": "APP10", "android": "APP10", "store": "MEMBER10"}
ONLINE = ("web", "ios", "android")
CHANNELS = ("web", "ios", "android", "store")
STORES = ("S01", "S02", "S03", "S04", "S05")
_STORE_WEIGHTS = (30, 25, 20, 15, 10)

# Policies: identical everywhere except the two injected conflicts.
_POLICIES = [
    ("return_window_days", {"web": "30", "ios": "30", "android": "30", "store": "30"}),
    ("price_match", {"web": "no", "ios": "no", "android": "no", "store": "no"}),
    ("free_shipping_threshold", {"web": "1500", "ios": "1500", "android": "1500", "store": "1500"}),
    ("gift_wrapping", {"web": "available", "ios": "available", "android": "available",
                       "store": "available"}),
    ("online_order_return_in_store", {"web": "allowed", "ios": "allowed", "android": "allowed",
                                      "store": "not_allowed"}),
    ("warranty_months", {"web": "12", "ios": "12", "android": "12", "store": "24"}),
]

TOPICS = ("delivery", "return", "defect", "billing", "account", "product_question")
_TICKET_CHANNELS = ("phone", "email", "chat", "chatbot")
_TICKET_CH_W = (35, 25, 25, 15)
PLACEHOLDER_EMAILS = ("test@test.com", "noemail@none.com", "N/A")
PLACEHOLDER_PHONES = ("0000000000", "1234567890")

# Taipei local hour weights (online activity; stores use opening hours)
_HOUR_W = [1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 1.8, 2.0, 2.0, 2.2, 2.5, 2.2, 2.0, 2.0, 2.2,
           2.5, 3.0, 3.5, 4.0, 4.0, 3.2, 2.0]
_HOUR_CUM = [sum(_HOUR_W[: i + 1]) for i in range(24)]

TPE = timezone(timedelta(hours=8))
_JST = timezone(timedelta(hours=9))
_UTC = timezone.utc
_EPOCH = date(1970, 1, 1)
_DAY = 86400
_TPE_OFF = 8 * 3600
_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def _cum(weights) -> list[float]:
    out, s = [], 0.0
    for w in weights:
        s += w
        out.append(s)
    return out


def _dn(d: date) -> int:
    """Day number (days since 1970-01-01)."""
    return (d - _EPOCH).days


def _from_dn(n: int) -> date:
    return _EPOCH + timedelta(days=n)


def _tpe_dn(ts: int) -> int:
    """Taipei calendar day number of an epoch-seconds instant."""
    return (ts + _TPE_OFF) // _DAY


def _poisson(rng: Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _utc_str(ts: int) -> str:
    return datetime.fromtimestamp(ts, _UTC).strftime("%Y-%m-%d %H:%M:%S")


def _utc_z(ts: int) -> str:
    return datetime.fromtimestamp(ts, _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# World model
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Person:
    idx: int
    pid: str
    kind: str  # "zh" | "en"
    surname: str  # zh surname / en last name
    given: str  # zh given name / en first name
    sur_rom: str
    given_rom: str
    company: int  # index into _COMPANIES, -1 for B2C
    email: str = ""
    mobile: str = ""
    birth: date = _EPOCH
    city: str = ""
    district: str = ""
    postcode: str = ""
    street: str = ""
    household: str = ""
    shares_email: bool = False
    account: str = ""
    cards: list = field(default_factory=list)
    subscriber: str = ""
    devices: list = field(default_factory=list)  # indices into _Gen.devices


@dataclass(slots=True)
class _Device:
    anon_id: str
    platform: str
    person: int  # -1 = non-customer
    logs_in: bool
    seq: int = 0


@dataclass(slots=True)
class _Subscriber:
    sid: str
    person: int
    email: str
    first_name: str
    status: str
    opted_ts: int


@dataclass(slots=True)
class _Campaign:
    cid: str
    name: str
    code: str
    sku: int
    pct: int
    channels: tuple
    from_dn: int
    to_dn: int
    send_ts: int
    not_honoured: str | None
    sent: dict = field(default_factory=dict)  # person idx -> sent instant
    nh_lines: int = 0


class _Gen:
    def __init__(self, out_dir: Path, customers: int, days: int, seed: int, end_date: date):
        if customers < 50:
            raise ValueError("customers must be >= 50")
        if days < 7:
            raise ValueError("days must be >= 7")
        self.out = Path(out_dir)
        self.n = customers
        self.days = days
        self.seed = seed
        self.end_dn = _dn(end_date)
        self.start_dn = self.end_dn - days + 1
        self.start_ts = self.start_dn * _DAY - _TPE_OFF  # 00:00 Taipei on the first day
        self.end_ts = (self.end_dn + 1) * _DAY - _TPE_OFF  # export moment (exclusive)
        self.persons: list[_Person] = []
        self.devices: list[_Device] = []
        self.counts: dict[str, int] = {}
        self.sku_ids = [f"SKU-{i + 1:04d}" for i in range(len(_PRODUCTS))]
        self.sku_cum = _cum([1.0 / (1 + (i * 7) % 40) ** 0.6 for i in range(len(_PRODUCTS))])

    def rng(self, stream: str) -> Random:
        return Random(f"silobridge-demo:{self.seed}:{stream}")

    # ---- small helpers -------------------------------------------------------------------
    def rand_ts(self, rng: Random, lo_ts: int | None = None, hi_ts: int | None = None) -> int:
        """Random instant in [lo, hi) (default: the window) with Taipei-hour weighting."""
        lo = self.start_ts if lo_ts is None else lo_ts
        hi = self.end_ts if hi_ts is None else hi_ts
        lo_dn, hi_dn = _tpe_dn(lo), _tpe_dn(hi - 1)
        for _ in range(20):
            d = rng.randint(lo_dn, hi_dn)
            h = rng.choices(range(24), cum_weights=_HOUR_CUM)[0]
            ts = d * _DAY - _TPE_OFF + h * 3600 + rng.randrange(3600)
            if lo <= ts < hi:
                return ts
        return rng.randrange(lo, hi)

    def store_ts(self, rng: Random, lo_dn: int, hi_dn: int) -> int:
        """Random instant during store opening hours (11:00-21:30 Taipei) on a day in range."""
        d = rng.randint(lo_dn, hi_dn)
        return d * _DAY - _TPE_OFF + 11 * 3600 + rng.randrange(int(10.5 * 3600))

    def pick_sku(self, rng: Random) -> int:
        return rng.choices(range(len(_PRODUCTS)), cum_weights=self.sku_cum)[0]

    # ---- dirt ----------------------------------------------------------------------------
    @staticmethod
    def fmt_phone(rng: Random, digits: str) -> str:
        r = rng.random()
        if r < 0.45:
            return digits
        if r < 0.65:
            return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
        if r < 0.72:
            return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
        if r < 0.85:
            return f"+886 {digits[1:4]} {digits[4:7]} {digits[7:]}"
        if r < 0.97:
            return f"+886{digits[1:]}"
        return digits.translate(_FW)

    def dirty_phone(self, rng: Random, digits: str, missing: float = 0.15,
                    placeholder: float = 0.02) -> str:
        r = rng.random()
        if r < missing:
            return ""
        if r < missing + placeholder:
            return PLACEHOLDER_PHONES[rng.randrange(2)]
        return self.fmt_phone(rng, digits)

    @staticmethod
    def typo_email(rng: Random, email: str) -> str:
        local, _, dom = email.partition("@")
        if dom in _DOMAIN_TYPOS and rng.random() < 0.6:
            return f"{local}@{_DOMAIN_TYPOS[dom]}"
        if len(local) > 3:
            i = rng.randrange(1, len(local) - 1)
            return f"{local[:i]}{local[i + 1:]}@{dom}"
        return f"{local}{local[-1]}@{dom}"

    @staticmethod
    def case_ws(rng: Random, email: str) -> str:
        r = rng.randrange(6)
        local, _, dom = email.partition("@")
        if r == 0:
            out = email.upper()
        elif r == 1:
            out = email[:1].upper() + email[1:]
        elif r == 2:
            out = f"{local}@{dom.upper()}"
        elif r == 3:
            out = " " + email
        elif r == 4:
            out = email + " "
        else:
            out = " " + email[:1].upper() + email[1:] + "  "
        return out

    def dirty_email(self, rng: Random, email: str, missing: float, placeholder: float = 0.03,
                    casews: float = 0.15, typo: float = 0.01) -> str:
        r = rng.random()
        if r < missing:
            return ""
        r -= missing
        if r < placeholder:
            return PLACEHOLDER_EMAILS[rng.randrange(3)]
        if rng.random() < typo:
            email = self.typo_email(rng, email)
        if rng.random() < casews:
            email = self.case_ws(rng, email)
        return email

    @staticmethod
    def _en_typo(rng: Random, s: str) -> str:
        if len(s) < 4:
            return s + s[-1]
        i = rng.randrange(1, len(s) - 1)
        if rng.random() < 0.5:
            return s[:i] + s[i + 1] + s[i] + s[i + 2:]
        return s[:i] + s[i + 1:]

    def name_parts(self, rng: Random, p: _Person, *, simplified: bool, nick: float = 0.15,
                   typo: float = 0.03) -> tuple[str, str]:
        """(given, surname) with system dirt: simplified chars, typos, nicknames."""
        g, s = p.given, p.surname
        if p.kind == "zh":
            if simplified and rng.random() < 0.05:
                g2 = "".join(TRAD_TO_SIMP.get(c, c) for c in g)
                s2 = "".join(TRAD_TO_SIMP.get(c, c) for c in s)
                g, s = g2, s2
            if rng.random() < typo and len(g) == 2:
                g = g[::-1] if rng.random() < 0.5 else g[rng.randrange(2)]
        else:
            if g in _NICKNAMES and rng.random() < nick:
                g = _NICKNAMES[g]
            if rng.random() < typo:
                if rng.random() < 0.5:
                    g = self._en_typo(rng, g)
                else:
                    s = self._en_typo(rng, s)
        return g, s

    def full_name(self, rng: Random, p: _Person, *, simplified: bool, nick: float = 0.15,
                  swap: float = 0.10, spaces: float = 0.03) -> str:
        g, s = self.name_parts(rng, p, simplified=simplified, nick=nick)
        if p.kind == "zh":
            name = s + g
            if rng.random() < spaces:
                r = rng.randrange(3)
                name = f"{s} {g}" if r == 0 else (f"{name} " if r == 1 else f" {name}")
            return name
        r = rng.random()
        if r < swap * 0.6:
            name = f"{s} {g}"
        elif r < swap:
            name = f"{s.upper()}, {g}"
        else:
            name = f"{g} {s}"
        if rng.random() < spaces:
            name = name.replace(" ", "  ", 1) if rng.random() < 0.5 else name + " "
        return name

    # ---- persons ---------------------------------------------------------------------------
    def gen_persons(self) -> None:
        rng = self.rng("persons")
        n = self.n
        sur_cum = _cum([w for _, _, w in _SURNAMES])
        prov_cum = _cum([w for _, w in _PROVIDERS])
        city_cum = _cum([w for _, w, _ in _CITIES])
        b_lo, b_hi = _dn(date(1950, 1, 1)), _dn(date(2006, 12, 31))
        used_emails: set[str] = set()
        used_phones = {"0912345678"}

        # households: 3% of persons -> pairs (6% of persons), partner b follows a (a < b)
        n_house = round(0.03 * n)
        picked = rng.sample(range(n), 2 * n_house)
        partner_of: dict[int, int] = {}
        hh_id: dict[int, str] = {}
        shares: dict[int, bool] = {}
        for h in range(n_house):
            a, b = sorted(picked[2 * h: 2 * h + 2])
            partner_of[b] = a
            hid = f"H{h + 1:05d}"
            hh_id[a] = hh_id[b] = hid
            shares[a] = shares[b] = rng.random() < 0.40

        def unique_email(local: str, dom: str) -> str:
            cand = f"{local}@{dom}"
            while cand in used_emails:
                cand = f"{local}{rng.randrange(10, 1000)}@{dom}"
            used_emails.add(cand)
            return cand

        for i in range(n):
            a = partner_of.get(i, -1)
            pa = self.persons[a] if a >= 0 else None
            in_house = i in hh_id
            company = -1
            if not in_house and rng.random() < 0.05:
                company = rng.randrange(len(_COMPANIES))
            kind = pa.kind if pa else ("zh" if rng.random() < 0.80 else "en")
            if kind == "zh":
                if pa:
                    s, srom = pa.surname, pa.sur_rom
                else:
                    s, srom, _ = _SURNAMES[rng.choices(range(len(_SURNAMES)), cum_weights=sur_cum)[0]]
                if rng.random() < 0.9:
                    c1, c2 = rng.sample(_GIVEN, 2)
                    g, grom = c1[0] + c2[0], c1[1] + c2[1]
                else:
                    c1 = rng.choice(_GIVEN)
                    g, grom = c1
            else:
                s = pa.surname if pa else rng.choice(_EN_LAST)
                g = rng.choice(_EN_FIRST)
                srom, grom = s.lower(), g.lower()
            p = _Person(i, f"P{i + 1:06d}", kind, s, g, srom, grom, company)
            # true email
            if pa and shares[i]:
                p.email = pa.email
            elif company >= 0:
                dom = _COMPANIES[company][1] + ".com.tw"
                local = f"{grom}.{srom}" if rng.random() < 0.6 else f"{grom[0]}{srom}"
                p.email = unique_email(local, dom)
            else:
                dom = _PROVIDERS[rng.choices(range(4), cum_weights=prov_cum)[0]][0]
                pat = rng.randrange(5)
                nn = rng.randrange(1, 100)
                if kind == "zh":
                    initials = "".join(x[0] for x in _split_rom(g))
                    local = [f"{grom}.{srom}", f"{srom}{grom}", f"{initials}{srom}{nn}",
                             f"{grom}{nn}", f"{rng.choice(_EMAIL_WORDS)}{srom}{nn}"][pat]
                else:
                    local = [f"{grom}.{srom}", f"{grom[0]}{srom}", f"{grom}{srom}{nn}",
                             f"{grom}_{srom}", f"{rng.choice(_EMAIL_WORDS)}.{srom}"][pat]
                p.email = unique_email(local, dom)
            while True:
                ph = f"09{rng.randrange(10 ** 8):08d}"
                if ph not in used_phones:
                    used_phones.add(ph)
                    break
            p.mobile = ph
            p.birth = _from_dn(rng.randint(b_lo, b_hi))
            if pa:
                p.city, p.district, p.postcode, p.street = pa.city, pa.district, pa.postcode, pa.street
            else:
                city, _, dists = _CITIES[rng.choices(range(len(_CITIES)), cum_weights=city_cum)[0]]
                p.city = city
                p.district, p.postcode = rng.choice(dists)
                st = rng.choice(_STREETS) + rng.choice(_SECTIONS)
                if rng.random() < 0.3:
                    st += f"{rng.randint(1, 300)}巷"
                    if rng.random() < 0.3:
                        st += f"{rng.randint(1, 30)}弄"
                st += f"{rng.randint(1, 400)}號"
                if rng.random() < 0.6:
                    st += f"{rng.randint(2, 20)}樓"
                p.street = st
            if in_house:
                p.household = hh_id[i]
                p.shares_email = shares[i]
            self.persons.append(p)

    # ---- system membership ---------------------------------------------------------------
    def gen_memberships(self) -> None:
        rng = self.rng("membership")
        used_acc: set[str] = set()
        used_card: set[str] = set()
        used_dev: set[str] = set()
        used_sub: set[str] = set()
        self.crm_persons, self.account_holders, self.members = [], [], []
        self.ticket_persons, self.sub_persons = [], []
        plat_cum = _cum([50, 30, 20])
        for p in self.persons:
            in_crm = rng.random() < 0.60
            in_shop = rng.random() < 0.55
            in_loy = rng.random() < 0.45
            in_mkt = rng.random() < 0.50
            in_sup = rng.random() < 0.25
            if in_crm:
                self.crm_persons.append(p.idx)
            if in_shop:
                while True:
                    acc = f"U{rng.randrange(10 ** 6, 10 ** 7):07d}"
                    if acc not in used_acc:
                        used_acc.add(acc)
                        break
                p.account = acc
                self.account_holders.append(p.idx)
                for _ in range(1 if rng.random() < 0.65 else 2):
                    p.devices.append(self._new_device(rng, used_dev, p.idx, plat_cum,
                                                      rng.random() < 0.90))
            if in_loy:
                for _ in range(2 if rng.random() < 0.02 else 1):
                    while True:
                        card = f"L{rng.randrange(10 ** 8):08d}"
                        if card not in used_card:
                            used_card.add(card)
                            break
                    p.cards.append(card)
                self.members.append(p.idx)
            if in_mkt:
                while True:
                    sid = f"{rng.getrandbits(40):010x}"
                    if sid not in used_sub:
                        used_sub.add(sid)
                        break
                p.subscriber = sid  # resolved against the list's unique-email rule later
                self.sub_persons.append(p.idx)
            if in_sup:
                self.ticket_persons.append(p.idx)
        # anonymous devices of non-customers that never log in (~20% extra devices)
        n_anon = round(0.20 * len(self.devices))
        for _ in range(n_anon):
            self._new_device(rng, used_dev, -1, plat_cum, False)

    def _new_device(self, rng, used, person, plat_cum, logs_in) -> int:
        while True:
            aid = f"d-{rng.getrandbits(64):016x}"
            if aid not in used:
                used.add(aid)
                break
        plat = ONLINE[rng.choices(range(3), cum_weights=plat_cum)[0]]
        self.devices.append(_Device(aid, plat, person, logs_in))
        return len(self.devices) - 1

    # ---- ERP -------------------------------------------------------------------------------
    def gen_erp(self) -> None:
        rng = self.rng("erp")
        self.launched = []
        hi = self.start_dn - 90
        for _ in range(len(_PRODUCTS)):
            self.launched.append(rng.randint(hi - 5 * 365, hi))
        self.base_cents = [price * 100 for _, _, price in _PRODUCTS]
        # price differences: every 12th SKU; ios for the first one, store for the others
        d = self.days
        self.sub_from = self.start_dn + d // 4
        self.sub_to = self.end_dn - d // 4
        self.diffs: dict[tuple[int, str], int] = {}  # (sku idx, channel) -> cents in sub-window
        diff_skus = [i for i in range(len(_PRODUCTS)) if (i + 1) % 12 == 0]
        for k, i in enumerate(diff_skus):
            ch = "ios" if k == 0 else "store"
            base = _PRODUCTS[i][2]
            delta = max(10, round(base * (0.05 if ch == "ios" else 0.10) / 10) * 10)
            self.diffs[(i, ch)] = (base - delta) * 100
        self.diff_skus = set(diff_skus)

    def price(self, sku: int, ch: str, dn: int) -> int:
        if self.sub_from <= dn <= self.sub_to:
            v = self.diffs.get((sku, ch))
            if v is not None:
                return v
        return self.base_cents[sku]

    # ---- marketing -------------------------------------------------------------------------
    def gen_marketing(self) -> None:
        rng = self.rng("marketing")
        persons = self.persons
        used_list_emails: set[str] = set()
        subs: list[_Subscriber] = []
        early = _dn(date(2019, 1, 1)) * _DAY
        for i in self.sub_persons:
            p = persons[i]
            key = p.email.lower()
            if key in used_list_emails:  # list members are unique by email (shared inbox)
                p.subscriber = ""
                continue
            used_list_emails.add(key)
            email, status = p.email, "subscribed"
            if rng.random() < 0.015:
                email, status = self.typo_email(rng, email), "cleaned"  # bounced
            elif rng.random() < 0.15:
                email = self.case_ws(rng, email)
            r = rng.random()
            if status == "subscribed" and r < 0.06:
                status = "unsubscribed"
            elif status == "subscribed" and r < 0.08:
                status = "cleaned"
            if rng.random() < 0.05:
                opted = rng.randrange(self.start_ts, self.start_ts + (self.end_ts - self.start_ts) * 2 // 3)
            else:
                opted = rng.randrange(early, self.start_ts)
            if p.kind == "en":
                g, _ = self.name_parts(rng, p, simplified=False, nick=0.3)
                first = g if rng.random() < 0.9 else ""
            else:
                r = rng.random()
                first = p.given if r < 0.6 else (p.surname + p.given if r < 0.8 else "")
            subs.append(_Subscriber(p.subscriber, i, email, first, status, opted))
        subs.sort(key=lambda s: s.sid)
        self.subscribers = subs

        # campaigns
        n_c = rng.randint(4, 6)
        d = self.days
        used_skus: set[int] = set()
        self.campaigns: list[_Campaign] = []
        for k in range(n_c):
            name, code, cat, pct, chans, nh = _CAMPAIGNS[k]
            cands = [i for i, pr in enumerate(_PRODUCTS)
                     if pr[1] == cat and i not in self.diff_skus and i not in used_skus]
            sku = rng.choice(cands)
            used_skus.add(sku)
            from_dn = self.start_dn + round(k * (d - 4) / n_c) + rng.randint(0, 1)
            to_dn = min(self.end_dn, from_dn + rng.randint(4, 8))
            send_ts = from_dn * _DAY - _TPE_OFF + 10 * 3600  # 10:00 Taipei
            self.campaigns.append(_Campaign(f"CMP{k + 1:03d}", name, code, sku, pct, chans,
                                            from_dn, to_dn, send_ts, nh))
        self.promo_by_sku = {c.sku: c for c in self.campaigns}

        # sends / opens / clicks / unsubscribes, in send order
        status_now = {s.sid: s.status for s in subs}
        acts: list[tuple[int, str, str, int]] = []
        ev_order = {"sent": 0, "open": 1, "click": 2, "unsubscribe": 3}
        for c in sorted(self.campaigns, key=lambda c: (c.send_ts, c.cid)):
            cands = [s for s in subs if status_now[s.sid] == "subscribed" and s.opted_ts < c.send_ts]
            chosen = [s for s in cands if rng.random() < 0.60]
            # guarantee at least 3 recipients able to buy in each valid channel
            chosen_ids = {s.sid for s in chosen}
            for ch in c.channels:
                ok = [s for s in chosen if self._can_buy(persons[s.person], ch)]
                extra = [s for s in cands if s.sid not in chosen_ids
                         and self._can_buy(persons[s.person], ch)]
                while len(ok) < 3 and extra:
                    s = extra.pop(0)
                    chosen.append(s)
                    chosen_ids.add(s.sid)
                    ok.append(s)
            chosen.sort(key=lambda s: s.sid)
            for s in chosen:
                t_sent = c.send_ts + rng.randrange(900)
                c.sent[s.person] = t_sent
                acts.append((t_sent, c.cid, s.sid, 0))
                if rng.random() < 0.40:
                    t_open = t_sent + 60 + int(rng.expovariate(1 / 14400))
                    if t_open < self.end_ts:
                        acts.append((t_open, c.cid, s.sid, 1))
                        if rng.random() < 0.25:
                            t_click = t_open + rng.randint(5, 600)
                            if t_click < self.end_ts:
                                acts.append((t_click, c.cid, s.sid, 2))
                        if rng.random() < 0.03:
                            t_uns = t_open + rng.randint(10, 900)
                            if t_uns < self.end_ts:
                                acts.append((t_uns, c.cid, s.sid, 3))
                                status_now[s.sid] = "unsubscribed"
        for s in subs:
            s.status = status_now[s.sid]
        acts.sort()
        names = {v: k for k, v in ev_order.items()}
        self.activity = [(cid, sid, names[e], _utc_str(ts)) for ts, cid, sid, e in acts]

    @staticmethod
    def _can_buy(p: _Person, ch: str) -> bool:
        return bool(p.cards) if ch == "store" else bool(p.account)

    # ---- sales -----------------------------------------------------------------------------
    def _skus_for(self, rng: Random, person: int, ch: str, ts: int, n: int,
                  first: int | None = None) -> list[int]:
        """n distinct SKUs; avoids promoted SKUs a recipient would buy before receiving the mail."""
        out = [] if first is None else [first]
        dn = _tpe_dn(ts)
        tries = 0
        while len(out) < n and tries < 50:
            tries += 1
            s = self.pick_sku(rng)
            if s in out:
                continue
            c = self.promo_by_sku.get(s)
            if (c is not None and person >= 0 and ch in c.channels and c.from_dn <= dn <= c.to_dn
                    and person in c.sent and ts < c.sent[person] + 60):
                continue
            out.append(s)
        return out

    def _n_lines(self, rng: Random) -> int:
        r = rng.random()
        return 1 if r < 0.55 else (2 if r < 0.85 else 3)

    def _qty(self, rng: Random) -> int:
        r = rng.random()
        return 1 if r < 0.8 else (2 if r < 0.95 else 3)

    def gen_sales(self) -> None:
        rng = self.rng("sales")
        persons = self.persons
        # 1 + Poisson extra orders per buyer; the promotion purchases added below bring the
        # average to ~1.5 per buyer per 30 days
        lam_online, lam_store = 0.4 * self.days / 30, 0.5 * self.days / 30
        online: list[tuple[int, int, str, list[int]]] = []  # (ts, person, channel, skus)
        store: list[tuple[int, int, str, str, list[int]]] = []  # (ts, person, card, store, skus)
        web_cum = _cum([50, 30, 20])
        store_cum = _cum(_STORE_WEIGHTS)

        def channel_of(p: _Person) -> str:
            if p.devices:
                return self.devices[p.devices[rng.randrange(len(p.devices))]].platform
            return ONLINE[rng.choices(range(3), cum_weights=web_cum)[0]]

        def card_of(p: _Person) -> str:
            return p.cards[-1] if len(p.cards) == 1 or rng.random() < 0.7 else p.cards[0]

        for i in self.account_holders:
            if rng.random() >= 0.75:
                continue
            p = persons[i]
            for _ in range(1 + _poisson(rng, lam_online)):
                ch = channel_of(p)
                ts = self.rand_ts(rng)
                online.append((ts, i, ch, self._skus_for(rng, i, ch, ts, self._n_lines(rng))))
        n_member_tx = 0
        for i in self.members:
            if rng.random() >= 0.75:
                continue
            p = persons[i]
            home = rng.choices(range(5), cum_weights=store_cum)[0]
            for _ in range(1 + _poisson(rng, lam_store)):
                st = STORES[home] if rng.random() < 0.8 else rng.choice(STORES)
                ts = self.store_ts(rng, self.start_dn, self.end_dn)
                store.append((ts, i, card_of(p), st,
                              self._skus_for(rng, i, "store", ts, self._n_lines(rng))))
                n_member_tx += 1
        for _ in range(round(n_member_tx * 0.4 / 0.6)):  # anonymous walk-ins
            st = STORES[rng.choices(range(5), cum_weights=store_cum)[0]]
            ts = self.store_ts(rng, self.start_dn, self.end_dn)
            store.append((ts, -1, "", st, self._skus_for(rng, -1, "store", ts, self._n_lines(rng))))

        # promotion purchases by recipients, in every valid channel, after the send
        for c in self.campaigns:
            recips = sorted(c.sent)
            for ch in c.channels:
                elig = [i for i in recips if self._can_buy(persons[i], ch)]
                if not elig:
                    continue
                k = min(len(elig), max(3, round(len(elig) * 0.06)))
                for i in rng.sample(elig, k):
                    p = persons[i]
                    lo = c.sent[i] + 120
                    hi = (c.to_dn + 1) * _DAY - _TPE_OFF
                    if ch == "store":
                        ts = self.store_ts(rng, _tpe_dn(lo), c.to_dn)
                        if ts < lo:
                            ts = lo + rng.randrange(3600)
                        skus = self._skus_for(rng, i, ch, ts, rng.randint(1, 2), first=c.sku)
                        st = rng.choices(STORES, cum_weights=store_cum)[0]
                        store.append((ts, i, card_of(p), st, skus))
                    else:
                        ts = self.rand_ts(rng, lo, hi)
                        skus = self._skus_for(rng, i, ch, ts, rng.randint(1, 2), first=c.sku)
                        online.append((ts, i, ch, skus))

        # make every price difference observable: lines in the differing channel inside the
        # sub-window, plus one reference line on the web
        for (sku, ch), _cents in sorted(self.diffs.items()):
            for k in range(4):
                use_ch = ch if k < 3 else "web"
                if use_ch == "store":
                    ts = self.store_ts(rng, self.sub_from, self.sub_to)
                    if rng.random() < 0.5:
                        i = rng.choice(self.members)
                        store.append((ts, i, card_of(persons[i]), rng.choice(STORES), [sku]))
                    else:
                        store.append((ts, -1, "", rng.choice(STORES), [sku]))
                else:
                    i = rng.choice(self.account_holders)
                    lo = self.sub_from * _DAY - _TPE_OFF
                    hi = (self.sub_to + 1) * _DAY - _TPE_OFF
                    online.append((self.rand_ts(rng, lo, hi), i, use_ch, [sku]))

        online.sort(key=lambda o: (o[0], o[1]))
        store.sort(key=lambda o: (o[0], o[3], o[1]))

        prng = self.rng("pricing")
        self.bought: dict[int, list[int]] = {}
        self.order_rows: list[list[str]] = []
        self.checkouts: list[tuple[int, int, int]] = []  # (ts, person, first sku, channel)
        for n, (ts, i, ch, skus) in enumerate(online):
            oid = f"SO{30000001 + n}"
            r = prng.random()
            if r < 0.87:
                when = datetime.fromtimestamp(ts, TPE).isoformat()
            elif r < 0.97:
                when = _utc_z(ts)
            else:
                when = datetime.fromtimestamp(ts, _JST).isoformat()
            acc = persons[i].account
            for ln, sku in enumerate(skus, 1):
                lst, paid, code = self._price_line(prng, i, sku, ch, ts)
                self.order_rows.append([oid, str(ln), when, ch, acc, self.sku_ids[sku],
                                        str(self._qty(prng)), _money(lst), _money(paid), code,
                                        "TWD"])
                self.bought.setdefault(i, []).append(sku)
            self.checkouts.append((ts, i, skus[0], ch))

        self.tx_rows: list[list[str]] = []
        seq: dict[tuple[str, int], int] = {}
        for ts, i, card, st, skus in store:
            dn = _tpe_dn(ts)
            key = (st, dn)
            seq[key] = seq.get(key, 0) + 1
            txid = f"{st}{_from_dn(dn):%Y%m%d}{seq[key]:04d}"
            local = datetime.fromtimestamp(ts, TPE).strftime("%Y/%m/%d %H:%M:%S")
            for ln, sku in enumerate(skus, 1):
                lst, paid, code = self._price_line(prng, i, sku, "store", ts, member=bool(card))
                self.tx_rows.append([txid, str(ln), st, local, card, self.sku_ids[sku],
                                     str(self._qty(prng)), _money(lst), _money(paid), code])
                if i >= 0:
                    self.bought.setdefault(i, []).append(sku)

    def _price_line(self, rng: Random, person: int, sku: int, ch: str, ts: int,
                    member: bool = True) -> tuple[int, int, str]:
        dn = _tpe_dn(ts)
        lst = self.price(sku, ch, dn)
        c = self.promo_by_sku.get(sku)
        if c is not None and ch in c.channels and c.from_dn <= dn <= c.to_dn:
            recipient = person >= 0 and person in c.sent
            if recipient and ts < c.sent[person]:
                raise AssertionError("promoted SKU bought by a recipient before the send")
            if ch == c.not_honoured:
                if recipient:
                    c.nh_lines += 1
                return lst, lst, ""
            if recipient or rng.random() < 0.30:
                return lst, lst * (100 - c.pct) // 100, c.code
            return lst, lst, ""
        if rng.random() < 0.10 and (ch != "store" or member):
            return lst, lst * 90 // 100, _GENERIC_CODES[ch]
        return lst, lst, ""

    # ---- support ---------------------------------------------------------------------------
    def gen_tickets(self) -> None:
        rng = self.rng("support")
        persons = self.persons
        ch_cum = _cum(_TICKET_CH_W)
        n_sku = len(_PRODUCTS)
        raw: list[tuple[int, int, str, int, str, int]] = []  # ts, person, channel, sku, topic, group
        groups: list[tuple[int, int, str, list[int]]] = []  # person, sku, topic, raw indices
        sku_topics = ("delivery", "return", "defect", "billing", "product_question")
        window = self.end_ts - self.start_ts
        for i in self.ticket_persons:
            bought = self.bought.get(i, [])
            n_total = rng.choices((1, 2, 3, 4), weights=(50, 25, 15, 10))[0]
            used_skus: set[int] = set()

            def pick(avoid: set[int]) -> int:
                for s in bought:
                    if s not in avoid and rng.random() < 0.7:
                        return s
                while True:
                    s = self.pick_sku(rng)
                    if s not in avoid:
                        return s

            n_other = n_total
            if rng.random() < 0.20:
                g = rng.randint(2, 4)
                n_other = min(rng.choice((0, 0, 1, 2)), 4 - g)
                sku = pick(used_skus)
                used_skus.add(sku)
                topic = rng.choice(sku_topics)
                span = min(int(6.5 * _DAY), window - 3600)
                t0 = rng.randrange(self.start_ts, self.end_ts - span)
                offs = sorted(rng.randrange(span) for _ in range(g - 1))
                chans = rng.sample(_TICKET_CHANNELS, g)
                idxs = []
                for t, ch in zip([t0] + [t0 + o for o in offs], chans):
                    idxs.append(len(raw))
                    raw.append((t, i, ch, sku, topic, len(groups)))
                groups.append((i, sku, topic, idxs))
            for _ in range(n_other):
                # every ticket names a SKU (the doc allows nulls only in customer/csat/resolved_at);
                # a person's other tickets are about other SKUs, so they never form a repeat
                topic = rng.choice(TOPICS)
                if len(used_skus) >= n_sku:
                    break
                sku = pick(used_skus)
                used_skus.add(sku)
                ch = _TICKET_CHANNELS[rng.choices(range(4), cum_weights=ch_cum)[0]]
                raw.append((self.rand_ts(rng), i, ch, sku, topic, -1))

        order = sorted(range(len(raw)), key=lambda k: (raw[k][0], raw[k][1], k))
        tid_of = {}
        self.tickets: list[dict] = []
        for n, k in enumerate(order):
            ts, i, ch, sku, topic, _g = raw[k]
            tid = f"T{n + 1:07d}"
            tid_of[k] = tid
            self.tickets.append(self._ticket(rng, tid, ts, i, ch, sku, topic))
        self.ticket_person = {tid_of[k]: raw[k][1] for k in range(len(raw))}
        self.repeat_rows = []
        for i, sku, topic, idxs in groups:
            tids = sorted(tid_of[k] for k in idxs)
            self.repeat_rows.append([persons[i].pid, self.sku_ids[sku], topic, ";".join(tids)])
        self.repeat_rows.sort()

    def _ticket(self, rng: Random, tid: str, ts: int, i: int, ch: str, sku: int,
                topic: str) -> dict:
        p = self.persons[i]

        def name() -> str:
            return self.full_name(rng, p, simplified=True, nick=0.3)

        def email() -> str:
            e = p.email
            if rng.random() < 0.01:
                e = self.typo_email(rng, e)
            return self.case_ws(rng, e) if rng.random() < 0.15 else e

        cust: dict = {}
        if ch == "phone":
            cust["name"] = name() if rng.random() < 0.5 else None
            cust["phone"] = None if rng.random() < 0.08 else self.fmt_phone(rng, p.mobile)
            cust["member_no"] = p.cards[0] if p.cards and rng.random() < 0.35 else None
        elif ch == "email":
            cust["name"] = name() if rng.random() < 0.9 else None
            cust["email"] = email()
        elif ch == "chat":
            cust["name"] = name()
            cust["email"] = email() if rng.random() < 0.8 else None
        else:  # chatbot
            if rng.random() < 0.5:
                cust["email"] = email()
        r = rng.random()
        status = "open" if r < 0.08 else "pending" if r < 0.15 else "resolved" if r < 0.55 else "closed"
        wait = rng.randint(0, 30) if ch == "chatbot" else int(rng.random() ** 2 * 1800)
        agent = f"A{rng.randint(1, 40):03d}"
        resolved = None
        if status in ("resolved", "closed"):
            rt = ts + wait + rng.randint(300, 3 * _DAY)
            if rt < self.end_ts:
                resolved = rt
            else:
                status = "pending"
        n_tr = rng.choices((0, 1, 2, 3), weights=(60, 25, 10, 5))[0]
        t_lo = ts + wait + 30
        t_hi = (resolved if resolved is not None else min(self.end_ts, t_lo + 3600)) - 1
        transfers = []
        if t_hi > t_lo:
            times = sorted(rng.randint(t_lo, t_hi) for _ in range(n_tr))
            cur = agent
            for t in times:
                nxt = cur
                while nxt == cur:
                    nxt = f"A{rng.randint(1, 40):03d}"
                transfers.append({"from_agent": cur, "to_agent": nxt, "at": _utc_z(t)})
                cur = nxt
        csat = None
        if status in ("resolved", "closed") and rng.random() < 0.6:  # ~50% null overall
            csat = rng.choices((1, 2, 3, 4, 5), weights=(8, 10, 20, 32, 30))[0]
        return {
            "ticket_id": tid, "created_at": _utc_z(ts), "channel": ch, "customer": cust,
            "sku": self.sku_ids[sku], "topic": topic,
            "status": status, "agent_id": agent, "transfers": transfers, "wait_seconds": wait,
            "csat": csat, "resolved_at": _utc_z(resolved) if resolved is not None else None,
        }

    # ---- analytics -------------------------------------------------------------------------
    def gen_analytics(self) -> None:
        rng = self.rng("analytics")
        days, start_ts, end_ts, start_dn = self.days, self.start_ts, self.end_ts, self.start_dn
        buckets: list[list[int]] = [[] for _ in range(days)]
        n_sku = len(_PRODUCTS)
        sku_cum = self.sku_cum
        choices, randint, rnd = rng.choices, rng.randint, rng.random
        n_cat, n_terms = len(_CATEGORIES), len(_SEARCH_TERMS)
        ev_cum = _cum([35, 35, 15, 15])  # page_view, product_view, search, add_to_cart
        self.logged_devices: set[int] = set()

        def emit(ts_ms: int, dev: int, seq: int, et: int, sku: int, aux: int, logged: int) -> None:
            d = (ts_ms // 1000 + _TPE_OFF) // _DAY - start_dn
            if 0 <= d < days:
                buckets[d].append(((((((ts_ms << 22 | dev) << 12 | seq) << 3 | et) << 6 | sku)
                                    << 4 | aux) << 1) | logged)

        for dev_i, dv in enumerate(self.devices):
            n_ev = max(3, round(randint(10, 30) * days / 30))
            sizes = []
            while n_ev > 0:
                s = min(n_ev, randint(2, 6))
                sizes.append(s)
                n_ev -= s
            forced = rng.randrange(len(sizes)) if dv.logs_in else -1
            seq = dv.seq
            for si, size in enumerate(sizes):
                t = self.rand_ts(rng, start_ts, end_ts - 3600) * 1000 + rng.randrange(1000)
                login_at = -1
                if dv.logs_in and (si == forced or rnd() < 0.3):
                    login_at = rng.randrange(size)
                logged = 0
                for k in range(size):
                    if k == login_at:
                        et, sku, aux, logged = 4, 0, 0, 1
                        self.logged_devices.add(dev_i)
                    elif k == 0:
                        et, sku, aux = 0, 0, (0 if rnd() < 0.6 else 1 + rng.randrange(n_cat))
                    else:
                        et = choices((0, 1, 2, 3), cum_weights=ev_cum)[0]
                        sku = aux = 0
                        if et == 0:
                            aux = 1 + rng.randrange(n_cat)
                        elif et == 2:
                            aux = rng.randrange(n_terms)
                        else:
                            sku = 1 + choices(range(n_sku), cum_weights=sku_cum)[0]
                    emit(t, dev_i, seq, et, sku, aux, logged)
                    seq += 1
                    t += randint(5, 180) * 1000 + rng.randrange(1000)
            dv.seq = seq

        # checkout sessions for online orders on a logged-in device of the same platform
        for ts, i, sku, ch in self.checkouts:
            p = self.persons[i]
            devs = [d for d in p.devices if self.devices[d].platform == ch
                    and self.devices[d].logs_in]
            if not devs or ts - 400 < start_ts:
                continue
            dev_i = devs[0]
            dv = self.devices[dev_i]
            base = ts * 1000
            steps = [(-rng.randint(250, 400), 1, 0), (-rng.randint(150, 240), 3, 0),
                     (-rng.randint(30, 140), 4, 1), (0, 5, 1)]
            for off, et, logged in steps:
                emit(base + off * 1000, dev_i, dv.seq, et, sku + 1 if et != 4 else 0, 0, logged)
                dv.seq += 1
            self.logged_devices.add(dev_i)
        # the packed sort keys hold 22 bits of device index and 12 bits of per-device sequence
        if len(self.devices) >= 1 << 22 or max((dv.seq for dv in self.devices), default=0) >= 1 << 12:
            raise ValueError("too many devices/events for the analytics key packing")
        self.event_buckets = buckets

    # ---- writers ---------------------------------------------------------------------------
    def _csv(self, rel: str, header: list[str], rows, encoding: str = "utf-8",
             lineterminator: str = "\n") -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with open(path, "w", encoding=encoding, newline="") as f:
            w = csv.writer(f, lineterminator=lineterminator)
            w.writerow(header)
            for row in rows:
                w.writerow(row)
                n += 1
        self.counts[rel] = n

    def write_crm(self, identity: list) -> None:
        rng = self.rng("crm")
        persons = self.persons
        used: set[str] = set()
        rows = []
        created_lo = _dn(date(2017, 1, 1))

        def cid() -> str:
            while True:
                c = f"003{rng.randrange(10 ** 11, 10 ** 12):012d}"
                if c not in used:
                    used.add(c)
                    return c

        def mmdd(dn: int) -> str:
            return _from_dn(dn).strftime("%m/%d/%Y")

        def row(p: _Person, dup: bool) -> list[str]:
            if p.company >= 0:
                atype, aname = "B2B", _COMPANIES[p.company][0]
            else:
                atype, aname = "B2C", "Individual"
            g, s = self.name_parts(rng, p, simplified=True, nick=0.3 if dup else 0.1)
            if p.kind == "zh" and rng.random() < 0.05:
                first, last = "", s + g  # whole name typed into Last Name
            elif p.kind == "en" and rng.random() < 0.05:
                first, last = s, g  # swapped
            else:
                first, last = g, s
            if rng.random() < 0.02:
                last = last + " "
            if p.company >= 0 and rng.random() < 0.35:
                email = f"info@{_COMPANIES[p.company][1]}.com.tw"  # shared company inbox
            else:
                email = self.dirty_email(rng, p.email, missing=0.25 if dup else 0.10)
            mobile = self.dirty_phone(rng, p.mobile, missing=0.25 if dup else 0.15)
            birth = "" if rng.random() < 0.25 else p.birth.strftime("%m/%d/%Y")
            if rng.random() < 0.15:
                street = city = zipc = ""
            else:
                street = p.street if rng.random() < 0.8 else p.district + p.street
                city = p.city if rng.random() < 0.75 else p.city.replace("臺", "台")
                zipc = "" if rng.random() < 0.08 else p.postcode
            card = ""
            if p.cards and not dup and rng.random() < 0.30:
                card = p.cards[0]
            created = rng.randint(created_lo, self.end_dn - 1)
            modified = rng.randint(created, self.end_dn)
            return [cid(), atype, aname, first, last, email, mobile, birth, street, city, zipc,
                    card, mmdd(created), mmdd(modified)]

        for i in self.crm_persons:
            p = persons[i]
            rows.append((row(p, False), p.pid))
            if rng.random() < 0.03:
                rows.append((row(p, True), p.pid))
        rows.sort(key=lambda r: r[0][0])
        identity.extend(("crm", "contacts", r[0], pid) for r, pid in rows)
        self._csv("exports/crm/contacts.csv",
                  ["Contact ID", "Account Type", "Account Name", "First Name", "Last Name",
                   "Email", "Mobile", "Birthdate", "Mailing Street", "Mailing City",
                   "Mailing Zip", "Loyalty Card", "Created Date", "Last Modified Date"],
                  [r for r, _ in rows], encoding="utf-8-sig")

    def break_rows(self) -> None:
        """Export glitches the pipeline must quarantine, on rows added beside the real ones (so the
        rest of the ground truth is unaffected): an order line exported twice, an extra order line with
        a negative quantity, an extra POS line whose timestamp does not parse. About 1 per 1,000 lines
        each, at least one. Their (file, row_number, rule) go to ground_truth/invalid_rows.csv."""
        rng = self.rng("broken")
        self.invalid_rows: list[list[str]] = []

        def negative_quantity(extra: list[str], next_line: int) -> None:
            extra[1], extra[6] = str(next_line), "-1"

        def impossible_hour(extra: list[str], next_line: int) -> None:
            extra[1], extra[3] = str(next_line), extra[3][:10] + " 25:61:00"  # hour 25 does not exist

        n = max(1, len(self.order_rows) // 1000)
        picks = sorted(rng.sample(range(len(self.order_rows)), min(2 * n, len(self.order_rows))))
        self.order_rows = self._add_broken(self.order_rows, "shop/orders.csv", {
            **{k: ("unique:order_id,line_no", None) for k in picks[0::2]},
            **{k: ("range:quantity", negative_quantity) for k in picks[1::2]}})
        n = max(1, len(self.tx_rows) // 1000)
        bad = rng.sample(range(len(self.tx_rows)), min(n, len(self.tx_rows)))
        self.tx_rows = self._add_broken(self.tx_rows, "pos/transactions.csv",
                                        {k: ("required:ordered_at", impossible_hour) for k in bad})

    def _add_broken(self, rows: list[list[str]], file: str, broken: dict) -> list[list[str]]:
        """`rows` with a copy of row k inserted after it for each k in `broken` (k -> (rule, edit)); `edit`
        gets the copy and the next free line number of its order (None: an exact duplicate)."""
        last_line: dict[str, int] = {}
        for r in rows:
            last_line[r[0]] = max(last_line.get(r[0], 0), int(r[1]))
        out: list[list[str]] = []
        for k, row in enumerate(rows):
            out.append(row)
            if k in broken:
                rule, edit = broken[k]
                extra = list(row)
                if edit is not None:
                    last_line[row[0]] += 1
                    edit(extra, last_line[row[0]])
                out.append(extra)
                self.invalid_rows.append([file, str(len(out)), rule])
        return out

    def write_shop(self, identity: list) -> None:
        rng = self.rng("shop")
        rows = []
        lo = _dn(date(2019, 1, 1)) * _DAY
        for i in self.account_holders:
            p = self.persons[i]
            email = self.dirty_email(rng, p.email, missing=0.05)
            phone = self.dirty_phone(rng, p.mobile)
            name = self.full_name(rng, p, simplified=True)
            created = datetime.fromtimestamp(rng.randrange(lo, self.start_ts), TPE).isoformat()
            rows.append([p.account, email, phone, name, created,
                         "true" if rng.random() < 0.55 else "false"])
            identity.append(("shop", "customers", p.account, p.pid))
        rows.sort(key=lambda r: r[0])
        self._csv("exports/shop/customers.csv",
                  ["account_id", "email", "phone", "full_name", "created_at", "marketing_opt_in"],
                  rows)
        self._csv("exports/shop/orders.csv",
                  ["order_id", "line_no", "ordered_at", "channel", "account_id", "sku", "quantity",
                   "unit_list_price", "unit_price_paid", "discount_code", "currency"],
                  self.order_rows)

    def write_pos(self, identity: list) -> None:
        rng = self.rng("pos")
        rows = []
        lo = _dn(date(2016, 1, 1))
        for i in self.members:
            p = self.persons[i]
            joined = rng.randint(lo, self.start_dn - 1)
            for k, card in enumerate(p.cards):
                name = self.full_name(rng, p, simplified=False, nick=0.1)
                phone = self.dirty_phone(rng, p.mobile)
                birth = "" if rng.random() < 0.10 else p.birth.strftime("%Y/%m/%d")
                email = self.dirty_email(rng, p.email, missing=0.60)
                r = rng.random()
                if r < 0.05:
                    addr = ""
                elif r < 0.15:
                    addr = p.district + p.street
                else:
                    city = p.city if rng.random() < 0.6 else p.city.replace("臺", "台")
                    addr = city + p.district + p.street
                zipc = "" if rng.random() < 0.10 else p.postcode
                if k:
                    joined = rng.randint(joined, self.start_dn - 1)
                rows.append([card, name, phone, birth, email, addr, zipc,
                             _from_dn(joined).strftime("%Y/%m/%d")])
                identity.append(("pos", "members", card, p.pid))
        rows.sort(key=lambda r: r[0])
        self._csv("exports/pos/members.csv",
                  ["會員卡號", "姓名", "手機", "生日", "電子郵件", "地址", "郵遞區號", "入會日期"],
                  rows, encoding="big5", lineterminator="\r\n")
        self._csv("exports/pos/transactions.csv",
                  ["交易編號", "明細序號", "門市代號", "交易時間", "會員卡號", "商品編號", "數量",
                   "單價", "實收單價", "折扣代碼"],
                  self.tx_rows, encoding="big5", lineterminator="\r\n")

    def write_support(self, identity: list) -> None:
        path = self.out / "exports/support/tickets.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("[\n")
            f.write(",\n".join(json.dumps(t, ensure_ascii=False) for t in self.tickets))
            f.write("\n]\n")
        self.counts["exports/support/tickets.json"] = len(self.tickets)
        for t in self.tickets:
            identity.append(("support", "tickets", t["ticket_id"],
                             self.persons[self.ticket_person[t["ticket_id"]]].pid))

    def write_marketing(self, identity: list) -> None:
        self._csv("exports/marketing/campaigns.csv",
                  ["campaign_id", "campaign_name", "promo_code", "sku", "discount_pct",
                   "valid_channels", "valid_from", "valid_to"],
                  [[c.cid, c.name, c.code, self.sku_ids[c.sku], str(c.pct), ";".join(c.channels),
                    _from_dn(c.from_dn).isoformat(), _from_dn(c.to_dn).isoformat()]
                   for c in self.campaigns])
        self._csv("exports/marketing/subscribers.csv",
                  ["subscriber_id", "email_address", "first_name", "status", "opted_in_at"],
                  [[s.sid, s.email, s.first_name, s.status, _utc_str(s.opted_ts)]
                   for s in self.subscribers])
        self._csv("exports/marketing/activity.csv",
                  ["campaign_id", "subscriber_id", "event_type", "event_time"], self.activity)
        identity.extend(("marketing", "subscribers", s.sid, self.persons[s.person].pid)
                        for s in self.subscribers)

    def write_analytics(self, identity: list) -> None:
        adir = self.out / "exports/analytics"
        adir.mkdir(parents=True, exist_ok=True)
        for old in sorted(adir.glob("events-*.jsonl")):  # no stale days from earlier runs
            old.unlink()
        rng = self.rng("event-ids")
        getbits = rng.getrandbits
        devs = self.devices
        anon = [d.anon_id for d in devs]
        plat = [d.platform for d in devs]
        uid = [f'"{self.persons[d.person].account}"' if d.person >= 0 else "null" for d in devs]
        ev_names = ("page_view", "product_view", "search", "add_to_cart", "login", "checkout")
        cat_pages = ["/"] + [f"/c/{c}" for c in _CATEGORIES]
        sku_ids = self.sku_ids
        m22, m6, m4, m3 = (1 << 22) - 1, 63, 15, 7
        for d, bucket in enumerate(self.event_buckets):
            bucket.sort()
            day = _from_dn(self.start_dn + d)
            rel = f"exports/analytics/events-{day.isoformat()}.jsonl"
            lines = []
            for v in bucket:
                logged = v & 1
                v >>= 1
                aux = v & m4
                v >>= 4
                sku = v & m6
                v >>= 6
                et = v & m3
                v >>= 3 + 12
                dev = v & m22
                ts_ms = v >> 22
                if et == 0:
                    page = cat_pages[aux]
                elif et == 2:
                    page = f"/search?q={_SEARCH_TERMS[aux]}"
                elif et == 4:
                    page = "/login"
                elif et == 5:
                    page = "/checkout"
                else:
                    page = f"/p/{sku_ids[sku - 1]}"
                skus = f'"{sku_ids[sku - 1]}"' if sku else "null"
                h = f"{getbits(128):032x}"
                eid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                lines.append(
                    f'{{"event_id": "{eid}", "ts": {ts_ms}, "anonymous_id": "{anon[dev]}", '
                    f'"user_id": {uid[dev] if logged else "null"}, "event": "{ev_names[et]}", '
                    f'"page": "{page}", "sku": {skus}, "platform": "{plat[dev]}"}}\n')
            with open(self.out / rel, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(lines)
            self.counts[rel] = len(lines)
        for dev_i in sorted(self.logged_devices):
            dv = devs[dev_i]
            identity.append(("analytics", "devices", dv.anon_id, self.persons[dv.person].pid))

    def write_registrations(self, identity: list) -> None:
        """Warranty registration cards typed in at the repair desk: name, birth date, address and postcode,
        no email, phone or card number, so they share no exact key with any other silo and link only
        through fuzzy attributes. About 15% of the CRM contacts' and loyalty members' persons, with typos."""
        rng = self.rng("registrations")
        known = sorted(set(self.crm_persons) | set(self.members))
        rows = []
        used: set[str] = set()
        for i in known:
            if rng.random() >= 0.15:
                continue
            p = self.persons[i]
            while True:
                reg = f"W{rng.randrange(10 ** 7):07d}"
                if reg not in used:
                    used.add(reg)
                    break
            g, sur = self.name_parts(rng, p, simplified=False, nick=0.05, typo=0.05)
            name = sur + g if p.kind == "zh" else (f"{g} {sur}" if rng.random() < 0.7 else f"{sur.upper()} {g}")
            birth = p.birth
            r = rng.random()
            if r < 0.03 and birth.day <= 12 and birth.day != birth.month:
                birth = date(birth.year, birth.day, birth.month)  # day and month swapped
            elif r < 0.06:
                birth = birth + timedelta(days=1 if birth.day < 28 else -1)  # one digit off
            street = p.street
            if rng.random() < 0.05:
                k = rng.randrange(len(street) - 1)
                street = street[:k] + street[k + 1:]  # a character left out
            city = p.city if rng.random() < 0.5 else p.city.replace("臺", "台")
            addr = city + p.district + street if rng.random() < 0.8 else p.district + street
            zipc = "" if rng.random() < 0.05 else p.postcode
            day = _from_dn(rng.randint(self.start_dn, self.end_dn - 1))
            rows.append([reg, name, birth.strftime("%d/%m/%Y"), addr, zipc, self.sku_ids[self.pick_sku(rng)],
                         day.isoformat()])
            identity.append(("service", "registrations", reg, p.pid))
        rows.sort(key=lambda r: r[0])
        self._csv("exports/service/warranty_registrations.csv",
                  ["reg_no", "customer_name", "birthday", "address", "zip", "sku", "registered_on"], rows)

    def write_erp(self) -> None:
        self._csv("exports/erp/products.csv", ["sku", "product_name", "category", "launched_on"],
                  [[self.sku_ids[i], name, cat, _from_dn(self.launched[i]).isoformat()]
                   for i, (name, cat, _) in enumerate(_PRODUCTS)])
        rows, diffs = [], []
        for i in range(len(_PRODUCTS)):
            base = _money(self.base_cents[i])
            vf = _from_dn(self.launched[i]).isoformat()
            for ch in CHANNELS:
                dc = self.diffs.get((i, ch))
                if dc is None:
                    rows.append([self.sku_ids[i], ch, base, "TWD", vf, ""])
                    continue
                f_, t_ = _from_dn(self.sub_from), _from_dn(self.sub_to)
                rows.append([self.sku_ids[i], ch, base, "TWD", vf,
                             (f_ - timedelta(days=1)).isoformat()])
                rows.append([self.sku_ids[i], ch, _money(dc), "TWD", f_.isoformat(),
                             t_.isoformat()])
                rows.append([self.sku_ids[i], ch, base, "TWD", (t_ + timedelta(days=1)).isoformat(),
                             ""])
                diffs.append([self.sku_ids[i], ch, _money(dc), base, f_.isoformat(),
                              t_.isoformat()])
        self._csv("exports/erp/price_list.csv",
                  ["sku", "channel", "price", "currency", "valid_from", "valid_to"], rows)
        vf = date(_from_dn(self.start_dn).year - 1, 1, 1).isoformat()
        self._csv("exports/erp/channel_policies.csv", ["policy", "channel", "value", "valid_from"],
                  [[pol, ch, vals[ch], vf] for pol, vals in _POLICIES for ch in CHANNELS])
        self.price_diff_rows = diffs

    def write_truth(self, identity: list) -> None:
        sys_order = {"crm": 0, "shop": 1, "pos": 2, "support": 3, "marketing": 4, "analytics": 5, "service": 6}
        identity.sort(key=lambda r: (sys_order[r[0]], r[1], r[2]))
        self._csv("ground_truth/identity.csv", ["system", "entity", "record_id", "person_id"],
                  identity)
        self._csv("ground_truth/price_differences.csv",
                  ["sku", "channel", "price", "reference_price", "valid_from", "valid_to"],
                  self.price_diff_rows)
        self._csv("ground_truth/promo_not_honoured.csv", ["campaign_id", "channel", "order_lines"],
                  [[c.cid, c.not_honoured, str(c.nh_lines)] for c in self.campaigns
                   if c.not_honoured])
        conflicts = []
        for pol, vals in _POLICIES:
            if len(set(vals.values())) > 1:
                conflicts.append([pol, ";".join(CHANNELS), ";".join(vals[ch] for ch in CHANNELS)])
        self._csv("ground_truth/policy_conflicts.csv", ["policy", "channels", "values"], conflicts)
        self._csv("ground_truth/repeat_contacts.csv", ["person_id", "sku", "topic", "ticket_ids"],
                  self.repeat_rows)
        self._csv("ground_truth/households.csv", ["person_id", "household_id", "shares_email"],
                  [[p.pid, p.household, "true" if p.shares_email else "false"]
                   for p in self.persons if p.household])

    def run(self) -> dict[str, int]:
        self.gen_persons()
        self.gen_memberships()
        self.gen_erp()
        self.gen_marketing()
        self.gen_sales()
        self.gen_tickets()
        self.gen_analytics()
        self.break_rows()
        identity: list = []
        self.write_crm(identity)
        self.write_shop(identity)
        self.write_pos(identity)
        self.write_support(identity)
        self.write_marketing(identity)
        self.write_analytics(identity)
        self.write_registrations(identity)
        self.write_erp()
        self.write_truth(identity)
        self._csv("ground_truth/invalid_rows.csv", ["file", "row_number", "rule"], self.invalid_rows)
        return dict(self.counts)


_GIVEN_ROM = dict(_GIVEN)


def _split_rom(given: str) -> list[str]:
    """Romanised syllables of a Chinese given name (for initials)."""
    return [_GIVEN_ROM[c] for c in given]


def generate(out_dir: Path, customers: int = 2000, days: int = 30, seed: int = 7,
             end_date: date = date(2026, 11, 20)) -> dict[str, int]:
    """Write the demo exports and ground truth under out_dir; return rows written per file (relative path -> rows)."""
    return _Gen(Path(out_dir), customers, days, seed, end_date).run()
