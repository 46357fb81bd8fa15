"""A hand-written, human-checked held-out sample for the toxicity and porn classifiers.

Written by hand for this purpose, not from the training templates, and each label checked by a person:
realistic page fragments and comment threads in zh and en, and the hard negatives a word list gets wrong
(blunt but civil criticism, medicine, sex education, crime reporting, identity terms, list words in their
innocent sense). Labels are (porn, toxic); a text can be neither, one or both. Small on purpose (every line
was read): its numbers have wide error bars, and are reported beside the word-list rule and the teacher
on the same texts, so the comparison is fair.
"""

from __future__ import annotations

CASES: list[tuple[str, int, int]] = [
    # --- porn, en
    ("HOT NEW UPLOADS\nTeen slut gets nailed on casting couch - 12:03\nMILF threesome uncensored - 24:51\nSign up to unlock full-length XXX scenes", 1, 0),
    ("Verified amateurs | Hardcore | Lesbian | Anal | Creampie\n1,204,331 free porn videos, new every hour", 1, 0),
    ("She slowly undressed and climbed onto the bed, naked and wet, begging him to fuck her harder.", 1, 0),
    ("Bored tonight? 38 sexy girls within 5 miles want to hook up. Send nudes, get laid, no credit card.", 1, 0),
    ("Live nude webcams - watch horny housewives strip and masturbate on camera. Tip tokens for private shows.", 1, 0),
    ("Hentai galleries updated daily. Uncensored doujin, ecchi and tentacle porn, all free.", 1, 0),
    ("Escort directory: incall and outcall, full service, blowjob included, discreet hotel visits.", 1, 0),
    ("Leaked celebrity sex tape! Click to see the full nude video before it gets deleted.", 1, 0),
    # --- porn, zh
    ("最新国产自拍偷拍 高清无码 在线播放\n人妻出轨 | 制服诱惑 | 巨乳 | 口交\n每日更新三千部成人视频", 1, 0),
    ("寂寞难耐？同城美女裸聊，一对一私密视频，充值即可观看全部福利。", 1, 0),
    ("她脱光了衣服躺在床上，两人疯狂做爱直到天亮。本站所有成人小说免费阅读。", 1, 0),
    ("桑拿会所 全套服务 胸推 口爆 包夜八百 新到学生妹 微信预约", 1, 0),
    ("日本AV女优番号大全，无码种子下载，磁力链接每日更新。", 1, 0),
    ("成人直播平台：性感主播在线脱衣表演，注册送100金币，可看私密房间。", 1, 0),
    ("三级片免费看 伦理电影在线 激情视频 午夜影院 十八岁以下禁止进入", 1, 0),
    # --- toxic, en
    ("Comments (3)\n#1 You're a brain-dead moron, nobody cares what you think.\n#2 Go back to whatever hole you crawled out of, loser.\n#3 Agreed, the author is a total idiot.", 0, 1),
    ("Shut the hell up you pathetic little shit. Everyone in this forum is laughing at you.", 0, 1),
    ("Typical retarded libtard nonsense. Get a job you worthless leech.", 0, 1),
    ("@mike_88 fuck off and die, nobody asked for your garbage opinion", 0, 1),
    ("This dumbass reviewer clearly never used the product. What a clown, what a joke of a human being.", 0, 1),
    ("I will find out where you live and make you regret posting this, you scumbag.", 0, 1),
    ("Stupid bitch doesn't know what she's talking about lmao, delete your channel", 0, 1),
    # --- toxic, zh
    ("楼主脑子有病吧？这种垃圾帖子也好意思发，赶紧滚。\n回复2楼：你才是傻逼，别在这里丢人现眼。", 0, 1),
    ("什么狗屁专家，一群废物，拿着工资就会胡说八道，去死吧。", 0, 1),
    ("你妈的，老子花了钱买的东西三天就坏了，卖家就是个骗子王八蛋。", 0, 1),
    ("评论区：\n1楼 作者智障吧\n2楼 这种脑残也配写文章？\n3楼 笨蛋一个，滚回去重新上学", 0, 1),
    ("你个死变态，再私信我就把你家地址挂出来，让你全家不得安宁。", 0, 1),
    ("垃圾东西，草泥马的客服态度恶劣，一帮蠢猪。", 0, 1),
    # --- hard negatives, en
    ("Breast self-examination and regular mammograms help detect cancer early. Talk to your doctor if you notice a lump.", 0, 0),
    ("The sex education curriculum covers puberty, consent, contraception and sexually transmitted infections.", 0, 0),
    ("The defendant was convicted of rape and sentenced to twelve years; the victim's family thanked the jury.", 0, 0),
    ("Gay and lesbian couples gained the right to marry after the court's ruling, and parades were held in several cities.", 0, 0),
    ("Michelangelo's David is a marble statue of a nude male, completed in 1504.", 0, 0),
    ("This is the worst budget in a decade. The minister has failed, and the opposition is right to demand a vote.", 0, 0),
    ("I think you are wrong about the cause of the crash; the logs show a disk failure, not a memory leak.", 0, 0),
    ("The hen and the cock were kept in a separate coop from the ducks.", 0, 0),
    ("Dick Grayson was the first Robin in the Batman comics.", 0, 0),
    ("Prostitution is legal in the Netherlands and regulated by municipal licences.", 0, 0),
    ("The film depicts the brutality of war, including scenes of torture and killing.", 0, 0),
    ("The documentary interviews former members of a hate group about how they left it.", 0, 0),
    ("Update: the hotfix broke everything again. Really disappointing release, please roll it back.", 0, 0),
    # --- hard negatives, zh
    ("乳腺癌是女性最常见的恶性肿瘤之一，建议定期进行乳房自检和钼靶检查。", 0, 0),
    ("学校开设青春期性教育课，讲解生理发育、自我保护和预防艾滋病等知识。", 0, 0),
    ("法院以强奸罪判处被告人有期徒刑十年，被害人家属对判决表示满意。", 0, 0),
    ("王小姐介绍，今年公司的出口额比去年增长了百分之十二。", 0, 0),
    ("鸡肉价格连续三周上涨，养鸡户的收入明显增加。", 0, 0),
    ("他的处女作《边城》一经出版便广受好评。", 0, 0),
    ("警方破获一起组织卖淫案，抓获犯罪嫌疑人十五名。", 0, 0),
    ("我不同意楼主的观点，这个政策的问题在于执行不到位，而不是方向错了。", 0, 0),
    ("这次更新太让人失望了，闪退问题一直没解决，希望开发者尽快修复。", 0, 0),
    ("博物馆展出了文艺复兴时期的人体油画和雕塑。", 0, 0),
    ("网络暴力和人身攻击应当受到法律的制裁，平台也有责任及时处理。", 0, 0),
]
