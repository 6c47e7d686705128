"""Curated Chinese name and place lists.

Embedded on purpose (not Faker) so the generated world does not change when a library is upgraded.
Company, landlord and lender names are invented; billers and e-commerce platforms are well-known brands used
only as counterparties, as they would appear on a real statement.
"""

from __future__ import annotations

# Common surnames, roughly in order of frequency (weights are applied by the caller's choice of list slice).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)

GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣建国志成文东海峰亮晨昊然博睿泽"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧琳倩颖洁琪晶欣怡萍红梅莉佳悦蕾薇瑶璐思雨婧妍丹露彤菲月岚"

# Birthplace codes for resident ids (GB/T 2260 county codes). Validity against the birth year is checked by
# stdnum.cn.ric; the generator falls back along this list when a code did not exist yet in that year.
HOME_REGIONS = ("440304", "440303", "440305", "440306", "440307")  # Shenzhen districts: the bank's home city
BIRTH_REGIONS = (
    "440304", "440303", "440305", "440306", "440307", "440106", "440104", "441302", "440604", "445102",
    "441424", "445202", "440882", "430102", "430602", "431002", "420106", "360102", "360731", "450103",
    "510104", "500103", "410105", "350203", "330106", "320102", "370102", "610113", "110101", "310104",
)  # fmt: skip
ALWAYS_VALID_REGIONS = ("110101", "310104")  # county codes with no start year in the GB/T 2260 history

STREETS = (
    "深南大道", "滨海大道", "北环大道", "红荔路", "莲花路", "华强北路", "科技园路", "南海大道", "宝安大道",
    "龙岗大道", "布吉路", "梅林路", "香蜜湖路", "沙河西路", "创业路", "新安路", "坂雪岗大道", "民治大道",
)  # fmt: skip

# Company-name parts: 深圳市 + core + industry word + 有限公司.
COMPANY_CORES = (
    "腾达", "华信", "鼎盛", "恒通", "远航", "瑞丰", "启明", "新元", "博远", "同创", "嘉和", "正弘", "汇丰源",
    "锦程", "星河", "蓝海", "卓越", "中联", "安泰", "宏图", "金桥", "海纳", "立信", "优品", "天合", "佳鑫",
    "盛世", "泰和", "云帆", "聚源", "万象", "永安", "德信", "长风", "明远", "青禾", "方圆", "精诚",
)  # fmt: skip
COMPANY_TRADES = (
    ("科技", "软件和信息技术服务业"), ("电子", "计算机、通信和其他电子设备制造业"), ("贸易", "批发业"),
    ("商贸", "批发业"), ("餐饮管理", "餐饮业"), ("物流", "道路运输业"), ("装饰工程", "建筑装饰业"),
    ("文化传媒", "商务服务业"), ("服装", "纺织服装、服饰业"), ("食品", "食品制造业"), ("咨询", "商务服务业"),
    ("医疗器械", "专用设备制造业"), ("教育科技", "教育"), ("五金", "金属制品业"),
)  # fmt: skip

# Employers outside this bank: salaries arrive through CNAPS clearing.
EXTERNAL_EMPLOYERS = (
    "深圳市腾达科技有限公司", "深圳市华信电子股份有限公司", "深圳市远航物流有限公司", "深圳市启明软件有限公司",
    "深圳市恒通精密制造有限公司", "深圳市星河教育科技有限公司", "深圳市蓝海医疗器械有限公司",
    "深圳市博远建设工程有限公司", "深圳市安泰物业服务有限公司", "深圳市卓越连锁餐饮管理有限公司",
    "深圳市同创新能源科技有限公司", "深圳市嘉和百货有限公司", "深圳市立信会计师事务所有限公司",
    "深圳市第三人民医院", "深圳市南山区教育局", "深圳市金桥通信技术有限公司",
)  # fmt: skip

LANDLORD_COMPANIES = (
    "深圳市安居乐家住房租赁有限公司", "深圳市万家公寓管理有限公司", "深圳市青年之家长租公寓有限公司",
    "深圳市乐租房地产经纪有限公司", "深圳市城中村综合整治租赁有限公司",
)  # fmt: skip

# (platform/merchant name, ISO 18245 merchant category code, typical amount range in fen)
ECOMMERCE_MERCHANTS = (
    ("京东商城", "5732", 4_900, 129_900),
    ("天猫", "5311", 2_900, 59_900),
    ("淘宝网", "5399", 990, 29_900),
    ("拼多多", "5399", 590, 15_900),
    ("美团外卖", "5814", 1_800, 8_800),
    ("饿了么", "5814", 1_600, 7_900),
    ("盒马鲜生", "5411", 3_500, 32_000),
    ("唯品会", "5651", 5_900, 39_900),
    ("滴滴出行", "4121", 1_200, 9_800),
    ("大众点评", "5812", 4_500, 38_000),
    ("携程旅行", "4722", 19_900, 189_900),
    ("叮咚买菜", "5411", 2_900, 18_800),
    ("屈臣氏", "5912", 2_900, 19_900),
    ("瑞幸咖啡", "5814", 990, 4_900),
)
# Small everyday spends for the Class III persona and other small wallets.
SMALL_MERCHANTS = (
    ("美团外卖", "5814", 1_500, 4_500),
    ("瑞幸咖啡", "5814", 990, 2_900),
    ("滴滴出行", "4121", 1_100, 4_800),
    ("拼多多", "5399", 590, 6_900),
    ("便利蜂", "5499", 600, 3_500),
    ("喜茶", "5814", 1_500, 3_200),
)

# Lenders other than this bank, as named in the credit-bureau file (invented institutions).
CARD_ISSUERS = ("江南商业银行", "华东发展银行", "岭南农村商业银行", "中原兴业银行", "海峡银行")
CONSUMER_LENDERS = ("鑫融消费金融有限公司", "安信消费金融有限公司", "华夏普惠消费金融有限公司")
MICRO_LENDERS = (
    "速借网络小额贷款有限公司", "闪电花网络小额贷款有限公司", "快易贷网络小额贷款有限公司",
    "随心借网络小额贷款有限公司", "融易花网络小额贷款有限公司", "秒到账网络小额贷款有限公司",
    "小赢钱包网络小额贷款有限公司",
)  # fmt: skip
MORTGAGE_LENDERS = ("江南商业银行", "华东发展银行", "中原兴业银行")
CAR_LENDERS = ("远途汽车金融有限公司", "驰骋汽车金融有限公司")

# Institutions that appear in inquiry records (lenders above plus this bank's peers).
INQUIRY_INSTITUTIONS = CARD_ISSUERS + CONSUMER_LENDERS + MICRO_LENDERS

SME_SUPPLIERS = (
    "东莞市协力五金制品有限公司", "广州市穗丰贸易有限公司", "惠州市德赛包装材料有限公司", "佛山市南方塑胶有限公司",
    "深圳市顺达货运代理有限公司", "深圳市鹏城印务有限公司", "中山市华盛灯饰有限公司",
)  # fmt: skip
SME_CUSTOMERS = (
    "深圳市百佳超市连锁有限公司", "广东永辉商贸有限公司", "深圳市华润万家采购中心", "深圳市海岸城商业管理有限公司",
    "珠海市格瑞贸易有限公司", "深圳市沃尔得百货有限公司", "东莞市天和百货有限公司",
)  # fmt: skip
COMMERCIAL_LANDLORDS = (
    "深圳市华强北商业运营有限公司",
    "深圳市科兴科学园管理有限公司",
    "深圳市宝安物业经营有限公司",
)
TAX_AUTHORITY = "国家税务总局深圳市税务局"
