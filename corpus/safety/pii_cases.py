"""A labelled PII test set: realistic zh/en sentences with PII, and adversarial look-alikes without.

Cases are generated from templates with a seed (tests and the benchmark use different seeds). Values are
valid by construction where they should be found (ID numbers with the right check digit, cards passing
Luhn with a real issuer prefix) and invalid where they should not (a wrong check digit, a Luhn failure, a
February 30th, an address inside a URL or a git remote). Gold spans are marked ⟦type|value⟧ in templates.
"""

from __future__ import annotations

import random
import re

from corpus.safety.pii import _ID_WEIGHTS, luhn_ok

_MARK = re.compile(r"⟦(\w+)\|(.*?)⟧")


def _id_number(rng: random.Random, valid: bool = True) -> str:
    region = rng.choice(["110101", "310104", "440305", "510107", "330106", "420111"])
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + birth + f"{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def _card(rng: random.Random, valid: bool = True, grouped: bool = True) -> str:
    prefix, n = rng.choice([("4", 16), ("51", 16), ("55", 16), ("62", 19), ("62", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(n - len(prefix) - 1))
    last = next(d for d in "0123456789" if luhn_ok(body + d) == valid)
    digits = body + last
    if grouped and n == 16:
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    return digits


def _mobile(rng: random.Random) -> str:
    d = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
    return rng.choice([d, f"{d[:3]}-{d[3:7]}-{d[7:]}", f"{d[:3]} {d[3:7]} {d[7:]}", f"+86 {d}"])


def _email(rng: random.Random) -> str:
    user = rng.choice(["zhang.wei", "li_na88", "j.smith", "mary-ann", "wang2024", "support"])
    return f"{user}@{rng.choice(['example.com', 'mail.example.cn', 'qq.com', '163.com', 'uni.edu.cn'])}"


def _ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _ipv6(rng: random.Random) -> str:
    return rng.choice([f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}", f"fe80::{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}",
                       ":".join(f"{rng.randint(0, 0xffff):x}" for _ in range(8))])


def positives(rng: random.Random) -> list[str]:
    e, m, i, c = _email(rng), _mobile(rng), _id_number(rng), _card(rng, grouped=rng.random() < 0.7)
    land = rng.choice([f"010-{rng.randint(2, 9)}{rng.randint(0, 9999999):07d}", f"(0755){rng.randint(2, 9)}{rng.randint(0, 9999999):07d}",
                       f"021-{rng.randint(2, 9)}{rng.randint(0, 999):03d}-{rng.randint(0, 9999):04d}"])
    intl = rng.choice([f"+1 415 555 {rng.randint(1000, 9999)}", f"+44 20 7946 {rng.randint(1000, 9999)}", f"+49 (30) 1234 {rng.randint(1000, 9999)}"])
    v4, v6 = _ipv4(rng), _ipv6(rng)
    return [
        f"如有疑问，请发送邮件至⟦email|{e}⟧或致电⟦phone|{m}⟧联系我们。",
        f"Contact our team at ⟦email|{e}⟧ for more details.",
        f"申请人身份证号：⟦id_number|{i}⟧，联系电话：⟦phone|{land}⟧。",
        f"客户 王先生 | ⟦phone|{m}⟧ | 北京市朝阳区",
        f"| Name | Phone |\n| Li Lei | ⟦phone|{intl}⟧ |",
        f"请将款项汇入卡号⟦bank_card|{c}⟧，户名张三。",
        f"Card on file: ⟦bank_card|{c}⟧ (expires 08/27).",
        f"服务器地址为⟦ip|{v4}⟧，端口8080。",
        f"Failed login from ⟦ip|{v4}⟧ at 03:14; blocked.",
        f"The host resolves to ⟦ip|{v6}⟧ on the internal network.",
        f"报名请联系李老师，手机⟦phone|{m}⟧，邮箱⟦email|{e}⟧。",
        f"嫌疑人身份证号码为⟦id_number|{i.lower() if i.endswith('X') else i}⟧。",
        f"Call ⟦phone|{intl}⟧ or write to ⟦email|{e}⟧.",
        f"Tel: ⟦phone|+86-10-{rng.randint(2, 9)}{rng.randint(0, 9999999):07d}⟧ / Fax: ⟦phone|({rng.randint(200, 999)}) 555-{rng.randint(1000, 9999)}⟧",
        f"Reach me at ⟦email|{e.upper()}⟧; my IP was ⟦ip|{v4}⟧.",
    ]


def negatives(rng: random.Random) -> list[str]:
    bad_id = _id_number(rng, valid=False)
    bad_card = _card(rng, valid=False, grouped=False)
    order = f"{rng.randint(10**17, 10**18 - 1)}"
    return [
        f"订单号：{order}，请妥善保存。",                                   # 18 digits, not an ID (check digit / date)
        f"证件号 {bad_id} 校验失败，请重新输入。",                           # wrong check digit
        f"交易流水号 {bad_card}，金额 299.00 元。",                           # Luhn fails
        f"The ISBN is 978-{rng.randint(0, 9)}-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{rng.randint(0, 9)}.",
        f"Released on 2024-06-{rng.randint(10, 28)} as version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}.",
        f"Clone it with git clone git@github.com:org/repo{rng.randint(1, 99)}.git and run make.",
        f"See https://example.com/users/{rng.randint(10**10, 10**11)}/profile?ref=1{rng.randint(3, 9)}812345678 for details.",
        f"Use npm install left-pad@1.{rng.randint(0, 9)}.{rng.randint(0, 9)} in the project.",
        f"The value 192.168.{rng.randint(256, 999)}.1 is not an address; nor is 1.2.3.4.5.",
        f"会议时间 14:30:00，地点三楼会议室，共 {rng.randint(100, 999)} 人参加。",
        f"人口约为 1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)}0 人（估计值）。",   # 12 digits: not a phone
        "In Python, matrix products are written a @ b and decorators as @property.",
        "Follow @zhangwei on the site, or visit www.example.com/contact?email=none.",
        "坐标 39.9042, 116.4074；海拔 43.5 米。",
        f"Timestamp 1718190000123 recorded; checksum 0x{rng.randint(0, 2**32):08x}.",
    ]


def parse(marked: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Strip ⟦type|value⟧ marks; return the text and gold spans."""
    out, spans, last, pos = [], [], 0, 0
    for m in _MARK.finditer(marked):
        out.append(marked[last : m.start()])
        pos += m.start() - last
        spans.append((m.group(1), pos, pos + len(m.group(2))))
        out.append(m.group(2))
        pos += len(m.group(2))
        last = m.end()
    out.append(marked[last:])
    return "".join(out), spans


def cases(n_rounds: int, seed: int) -> list[tuple[str, list[tuple[str, int, int]]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n_rounds):
        out += [parse(t) for t in positives(rng) + negatives(rng)]
    return out


def score(found, gold) -> dict[str, dict[str, float]]:
    """Precision and recall per type over exact (type, start, end) spans."""
    from corpus.safety.pii import TYPES

    res = {}
    for t in TYPES:
        f = {(i, s) for i, spans in enumerate(found) for s in spans if s[0] == t}
        g = {(i, s) for i, spans in enumerate(gold) for s in spans if s[0] == t}
        tp = len(f & g)
        res[t] = {"precision": tp / len(f) if f else 1.0, "recall": tp / len(g) if g else 1.0, "gold": len(g), "found": len(f)}
    return res
