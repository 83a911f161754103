"""A seeded synthetic prefecture in the monitoring-system export format, with stored ground truth.

The region is fictional (示例省 / 示例市, SYNTHETIC in every file name and README). It is calibrated to the
magnitudes in the domain brief: per-capita net income of about 10-17 thousand yuan rising over 2020-2024,
wages about two thirds of income, monitoring targets a few per cent of households with all three types,
risk elimination over time, assistance workshops (帮扶车间), public-welfare posts, migrant work by location,
and skills training with certificates. It carries fictitious personal data (names, 18-digit resident ID
numbers with valid check characters, phone numbers) so that the privacy path runs on every build.

Known effects are embedded and written to ``ground_truth.json``:

* training raises a trainee's employment probability in the training year by ``TRAIN_EFFECT_EMP``
  (women) / ``TRAIN_EFFECT_EMP_MEN`` and wages by ``TRAIN_WAGE_PREMIUM``; who is trained depends on age,
  sex, education, labour skill and household type only (selection on observables);
* assistance workshops open in villages in staggered years (some never); while open they raise villagers'
  employment probability by ``WORKSHOP_EFFECT[e]`` at ``e`` years since opening (growing with time).

* the early-warning risk process: a household falls below the monitoring threshold in t+1 when its income
  before social assistance is below the threshold and the minimum living allowance (低保) does not reach
  it that year. Reach is drawn every year (:data:`DIBAO_REACH`: highest under monitoring, lowest for last
  year's recipients at the annual review; both recorded). Income before assistance moves with jobs kept or
  lost (a person's lasting attachment to work, shown in the months worked, :data:`WORK_PERSISTENCE`),
  members leaving working age after 64, and illness, disaster and accident shocks. The oracle (``warning_oracle``) knows
  the generator's whole state at the end of t, latent traits included.

The realised sample effects (from both potential outcomes of every person, drawn with the same random
numbers) are stored beside the structural parameters, so estimators are judged against the truth of
this very sample.

Examples
--------
>>> from analysis.io import synth
>>> region = synth.generate(seed=1, counties=2, households_per_county=50)
>>> sorted(region.export["县(市、区、旗)"].unique())[:1]
['东阳县']
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr
from scipy.stats import mannwhitneyu

from analysis.core.escaping import XLSXWRITER_OPTIONS
from analysis.core.files import atomic_path
from analysis.io.privacy import id_check_char

PROVINCE, PREFECTURE = "示例省", "示例市"
COUNTY_NAMES = ["北岭县", "南川县", "东阳县", "西坪县", "青山县", "白河县", "石门县", "云台县", "松溪县",
                "桃源县", "金沙县", "龙泉县"]
TOWN_SYLLABLES = list("长安平和兴福永丰新泰嘉宁清河明德")
VILLAGE_SYLLABLES = list("上下前后东西南北大小李王张刘陈杨赵黄周吴")
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰海燕志强春")
YEARS = (2020, 2021, 2022, 2023, 2024)
ORACLE_REPLICATES = 100  # draws of each next year behind the early warning's oracle (true risk)
FOUND_RATE = 0.85        # share of at-risk households that identification finds in the year
ASSIST_STREAM = 7_919   # key of the yearly stream that draws who social assistance reaches
THRESHOLDS = {2020: 6000, 2021: 6000, 2022: 6500, 2023: 7000, 2024: 7500}  # as analysis/config/thresholds.csv

# Embedded effects (the ground truth).
TRAIN_EFFECT_EMP = 0.12        # women
TRAIN_EFFECT_EMP_MEN = 0.08
TRAIN_WAGE_PREMIUM = 0.15      # trainees' monthly wage
WORKSHOP_EFFECT = {0: 0.04, 1: 0.07, 2: 0.10, 3: 0.13}
WORKSHOP_COHORTS = (2021, 2022, 2023)
MONTHLY_WAGE_2020 = {"in_county": 1500.0, "in_province": 2200.0, "out_province": 2900.0}
WORKSHOP_WAGE_2020 = 1700.0
WAGE_GROWTH = 1.07
WORK_PERSISTENCE = 0.95  # weight of a person's lasting attachment to work in each year's chance to work
POST_WAGE_MONTH = 600.0
# Chance that 低保 reaches a household whose income before assistance is below the threshold, drawn each
# year: a new case (enrolled within the year), one under monitoring (enrolled first), and last year's
# recipient (the annual review drops some who still need it).
DIBAO_REACH = {"new": 0.99, "monitored": 0.995, "renewal": 0.96}
TRAINING_TYPES = ["种植养殖技术", "电工焊工", "家政服务", "电子商务", "建筑施工"]
EDUCATION = ["文盲或半文盲", "小学", "初中", "高中", "中专/职高", "大专及以上"]


@dataclass
class SynthRegion:
    """The person-row export (Chinese headers, one row per member per year) and the ground truth."""

    export: pd.DataFrame
    ground_truth: dict


def _geography(rng, counties: int, households_per_county: int) -> pd.DataFrame:
    names = COUNTY_NAMES[:counties] if counties <= len(COUNTY_NAMES) else \
        COUNTY_NAMES + [f"示例{i}县" for i in range(len(COUNTY_NAMES) + 1, counties + 1)]
    rows = []
    for c, county in enumerate(names):
        n_towns = 3 + c % 2
        for t in range(n_towns):
            town = TOWN_SYLLABLES[(c * 3 + t) % len(TOWN_SYLLABLES)] + TOWN_SYLLABLES[(c + 2 * t + 5) % 14] + "镇"
            for v in range(4 + (c + t) % 3):
                village = (VILLAGE_SYLLABLES[(c + 5 * t + v) % len(VILLAGE_SYLLABLES)]
                           + VILLAGE_SYLLABLES[(3 * c + t + 7 * v + 1) % len(VILLAGE_SYLLABLES)] + f"{v + 1}村")
                rows.append((c, county, town, f"{town}{village}", f"{c:02d}{t:02d}{v:02d}"))
    villages = pd.DataFrame(rows, columns=["c", "county", "township", "village", "vcode"])
    villages["village_effect"] = rng.normal(0, 0.06, len(villages))
    cohort = rng.choice([0, *WORKSHOP_COHORTS], size=len(villages), p=[0.3, 0.25, 0.25, 0.2])
    villages["workshop_year"] = cohort
    # Households spread over the county's villages.
    hh = []
    for c in range(len(names)):
        vill = villages.index[villages["c"] == c].to_numpy()
        hh.append(rng.choice(vill, size=households_per_county))
    return villages, np.concatenate(hh)


def _people(rng, hh_village: np.ndarray, villages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(hh_village)
    size = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.08, 0.2, 0.24, 0.24, 0.15, 0.09])
    v = villages.loc[hh_village]
    households = pd.DataFrame({
        "hh": np.arange(n), "size": size, "village_idx": hh_village,
        "county": v["county"].to_numpy(), "township": v["township"].to_numpy(), "village": v["village"].to_numpy(),
        "vcode": v["vcode"].to_numpy(), "village_effect": v["village_effect"].to_numpy(),
        "workshop_year": v["workshop_year"].to_numpy(),
        "poverty_exited": rng.random(n) < 0.38,
        "income_level": rng.normal(0, 0.30, n),
        "business_level": rng.lognormal(0, 0.8, n),
    })
    rng.random(n)   # one spare uniform per household, so that the traits drawn below stay those of the seed
    households["hh_code"] = households["vcode"] + pd.Series(np.arange(n) % 10000).map("{:04d}".format).to_numpy()
    m = households.loc[households.index.repeat(households["size"]), ["hh", "poverty_exited", "hh_code"]]
    m = m.reset_index(drop=True)
    m["slot"] = m.groupby("hh").cumcount()
    head_birth = rng.integers(1950, 1994, n)
    birth = head_birth[m["hh"]]
    spouse = m["slot"] == 1
    child = (m["slot"] >= 2) & (rng.random(len(m)) < 0.72)
    elder = (m["slot"] >= 2) & ~child
    birth = np.where(spouse, birth + rng.integers(-4, 5, len(m)), birth)
    birth = np.where(child, np.minimum(birth + rng.integers(22, 36, len(m)), 2019), birth)
    birth = np.where(elder, np.maximum(birth - rng.integers(22, 30, len(m)), 1930), birth)
    m["birth_year"] = birth
    m["sex"] = np.where(spouse, np.where(rng.random(len(m)) < 0.9, "女", "男"),
                        np.where(m["slot"] == 0, np.where(rng.random(len(m)) < 0.85, "男", "女"),
                                 rng.choice(["男", "女"], len(m))))
    young = (m["birth_year"] >= 1975).to_numpy()
    edu_p_young, edu_p_old = [0.02, 0.15, 0.48, 0.17, 0.12, 0.06], [0.15, 0.42, 0.33, 0.07, 0.02, 0.01]
    m["edu"] = np.where(young, rng.choice(6, len(m), p=edu_p_young), rng.choice(6, len(m), p=edu_p_old))
    m["health"] = rng.choice(["健康", "长期慢性病", "患有大病", "残疾"], len(m), p=[0.86, 0.08, 0.02, 0.04])
    m["person_effect"] = rng.normal(0, 0.35, len(m))
    m["work_draw"] = rng.normal(0, 1, len(m))   # persistent part of who works, so jobs are not reshuffled yearly
    m["location_pref"] = rng.choice(list(MONTHLY_WAGE_2020), len(m), p=[0.47, 0.25, 0.28])
    m["relation"] = np.select([m["slot"] == 0, spouse, child], ["户主", "配偶", np.where(m["sex"] == "男", "之子", "之女")],
                              np.where(m["sex"] == "男", "之父", "之母"))
    return households, m


def _labour_skill(age: np.ndarray, health: np.ndarray, edu: np.ndarray) -> np.ndarray:
    return np.select(
        [age < 16, health == "残疾", health == "患有大病", age >= 70, (age >= 60) | (health == "长期慢性病"), edu >= 4],
        ["无劳动力", "丧失劳动力", "弱劳动力或半劳动力", "无劳动力", "弱劳动力或半劳动力", "技能劳动力"],
        "普通劳动力")


def _year_members(rng, m: pd.DataFrame, hh: pd.DataFrame, year: int) -> tuple[pd.DataFrame, dict]:
    """Members' work, training and wages in ``year``, with both potential outcomes of the two programmes."""
    age = year - m["birth_year"].to_numpy()
    edu = m["edu"].to_numpy()
    skill = _labour_skill(age, m["health"].to_numpy(), edu)
    female = (m["sex"] == "女").to_numpy()
    pe = m["poverty_exited"].to_numpy()
    able = np.isin(skill, ["技能劳动力", "普通劳动力", "弱劳动力或半劳动力"]) & (age >= 16) & (age <= 64)
    house = hh.loc[m["hh"]]
    # Training: selection on observables only (age, sex, education, skill, household type).
    z = -1.6 + 0.9 * (age < 40) - 0.5 * (age >= 50) + 0.5 * female + 0.25 * (edu >= 2) + 0.6 * pe \
        - 0.6 * (skill == "弱劳动力或半劳动力")
    trained = able & (rng.random(len(m)) < 1 / (1 + np.exp(-z)))
    # Baseline employment probability: observables, village and person effects, a common trend.
    x = 0.3 + 0.5 * (age < 45) - 0.4 * (age >= 55) - 0.35 * female + 0.15 * edu - 0.25 * pe \
        - 0.9 * (skill == "弱劳动力或半劳动力") + 0.4 * (skill == "技能劳动力") + m["person_effect"].to_numpy()
    p0 = 0.2 + 0.6 / (1 + np.exp(-x)) + 0.012 * (year - 2020) + house["village_effect"].to_numpy()
    wy = house["workshop_year"].to_numpy()
    exposure = np.where((wy > 0) & (year >= wy), year - wy, -1)
    effect_by_exposure = np.array([WORKSHOP_EFFECT.get(e, 0.0) for e in range(4)])
    ws = np.where(exposure >= 0, effect_by_exposure[np.clip(exposure, 0, 3)], 0.0)
    tr = np.where(female, TRAIN_EFFECT_EMP, TRAIN_EFFECT_EMP_MEN)
    u = ndtr(WORK_PERSISTENCE * m["work_draw"].to_numpy()
             + np.sqrt(1 - WORK_PERSISTENCE ** 2) * rng.normal(0, 1, len(m)))
    p_base = np.clip(p0, 0.02, 0.98)
    emp_00 = able & (u < p_base)                                     # no workshop, no training
    emp_w0 = able & (u < np.clip(p_base + ws, 0, 1))                 # workshop as it is, no training
    emp_w1 = able & (u < np.clip(p_base + ws + tr, 0, 1))            # workshop as it is, trained
    employed = np.where(trained, emp_w1, emp_w0)
    by_workshop = employed & ~np.where(trained, able & (u < np.clip(p_base + tr, 0, 1)), emp_00)
    # Months worked (6-12) follow the person's attachment to work, with a yearly spread: marginal workers work
    # short seasons, so the months recorded in a year tell how secure a job is.
    months = np.where(employed, np.clip(np.rint(9 + 2 * m["work_draw"].to_numpy()
                                                + 0.4 * (rng.integers(6, 13, len(m)) - 9)), 6, 12), 0)
    loc = np.where(by_workshop, "in_county", m["location_pref"].to_numpy())
    growth = WAGE_GROWTH ** (year - 2020)
    monthly = np.select([loc == place for place in MONTHLY_WAGE_2020], list(MONTHLY_WAGE_2020.values())) \
        * growth * rng.lognormal(0, 0.15, len(m))
    workshop_job = employed & (by_workshop | ((loc == "in_county") & (wy > 0) & (year >= wy) & (rng.random(len(m)) < 0.15)))
    monthly = np.where(workshop_job, WORKSHOP_WAGE_2020 * growth, monthly)
    # Public-welfare posts for weak labour of poverty-exited households who do not otherwise work.
    eligible = pe & (skill == "弱劳动力或半劳动力") & (age >= 40) & (age <= 68) & (rng.random(len(m)) < 0.25)
    post_len = rng.integers(6, 13, len(m))
    post = eligible & ~trained & ~employed
    post_months = np.where(post, post_len, 0)
    wage_w0 = np.where(emp_w0, months * monthly, 0.0)
    wage_1 = np.where(emp_w1, months * monthly * (1 + TRAIN_WAGE_PREMIUM), 0.0)
    wage = np.where(trained, wage_1, wage_w0) + post_months * POST_WAGE_MONTH
    out = pd.DataFrame({
        "age": age, "skill": skill, "employed": employed | post, "months": np.maximum(months, post_months),
        "loc": np.where(employed, loc, np.where(post, "in_county", "none")), "wage": np.round(wage),
        "workshop_job": workshop_job, "post_months": post_months, "trained": trained,
        "training_type": np.where(trained, rng.choice(TRAINING_TYPES, len(m)), ""),
        "certified": trained & (rng.random(len(m)) < 0.6), "able": able, "exposure": exposure,
    })
    # Potential outcomes. Training: the trainee untrained would work as emp_w0 or take a post if eligible.
    post_untrained = eligible & ~emp_w0
    no_ws = np.where(trained, able & (u < np.clip(p_base + tr, 0, 1)), emp_00)
    truth = pd.DataFrame({
        "trained": trained, "female": female,
        "emp_1": emp_w1, "emp_0": emp_w0 | post_untrained,
        "wage_1": wage_1, "wage_0": wage_w0 + np.where(post_untrained, post_len, 0) * POST_WAGE_MONTH,
        "ws_emp_1": employed | post, "ws_emp_0": no_ws | (eligible & ~trained & ~no_ws),
        "able": able, "exposure": exposure,
    })
    return out, truth


def _reach_probability(state: pd.DataFrame) -> np.ndarray:
    """The chance that the minimum living allowance reaches each household this year, given the state at the
    end of last year (see :func:`_assistance_reach`)."""
    under_monitoring = (state["monitored"] & ~state["eliminated"]).to_numpy()
    had = state["dibao"].to_numpy()
    return np.where(had, DIBAO_REACH["renewal"],
                    np.where(under_monitoring, DIBAO_REACH["monitored"], DIBAO_REACH["new"]))


def _assistance_reach(rng, state: pd.DataFrame) -> np.ndarray:
    """Whether the minimum living allowance would reach each household this year (drawn every year).

    Reaching an eligible household takes an application, a means test and the county's yearly review, so it
    is a yearly event, not a trait. :data:`DIBAO_REACH` is the chance for a new case, raised for a household
    under monitoring at the end of last year (monitoring targets come first for 低保 and 兜底 cover), and
    lower for last year's recipients: the annual review (动态管理) drops some whose income before
    assistance is still below the line. Both conditions are in the records (``监测对象类别``/``风险是否已消除``,
    ``是否享受低保``). In 2020 every household counts as last year's recipient if eligible.
    """
    return rng.random(len(state)) < _reach_probability(state)


def _household_year(rng, hh: pd.DataFrame, mem: pd.DataFrame, m: pd.DataFrame, year: int,
                    state: pd.DataFrame, assist_rng=None) -> pd.DataFrame:
    """Incomes, expenditures, shocks and basic needs of every household in ``year``.

    ``assist_rng`` draws who the minimum living allowance reaches (:func:`_assistance_reach`); ``rng`` if
    None.
    """
    n = len(hh)
    by = m["hh"].to_numpy()
    wage = np.bincount(by, mem["wage"], n)
    elderly = np.bincount(by, mem["age"] >= 60, n)
    pupils = np.bincount(by, (mem["age"] >= 6) & (mem["age"] <= 21), n)
    labour = np.bincount(by, mem["able"], n)
    size = hh["size"].to_numpy()
    pe = hh["poverty_exited"].to_numpy()
    illness = rng.random(n) < 0.006 + 0.004 * (elderly > 0)
    disaster = rng.random(n) < 0.012
    accident = rng.random(n) < 0.004
    wage = np.where(illness, wage * 0.55, wage)
    wage = np.where(accident, wage * 0.6, wage)
    g = year - 2020
    business = 6000 * hh["business_level"].to_numpy() * np.sqrt(size) * np.exp(hh["income_level"].to_numpy()) \
        * np.where(pe, 0.6, 1.0) * 1.04 ** g * rng.lognormal(0, 0.25, n)
    business = np.where(disaster, business * 0.3, business)
    property_ = (150 + 250 * rng.random(n)) * size + np.where(pe, 300, 0) * 1.03 ** g
    monitored = state["monitored"].to_numpy()
    expense = 0.35 * business
    transfer = 2000 * 1.05 ** g * elderly + 200 + np.where(monitored, 800 * size, 0)
    # Minimum living allowance (低保) and other social-assistance top-ups (兜底): households whose income
    # would fall below the monitoring range are lifted above it when assistance reaches them this year.
    before = (wage + business * 0.65 + property_ + transfer) / size
    thr = THRESHOLDS[year]
    reached = _assistance_reach(rng if assist_rng is None else assist_rng, state)
    dibao = (before < thr) & reached
    transfer = transfer + np.where(dibao, (thr * rng.uniform(1.0, 1.5, n) - before) * size, 0)
    rigid = rng.lognormal(np.log(600), 0.6, n) * size ** 0.5 + 1000 * pupils \
        + np.where(illness, rng.lognormal(np.log(18000), 0.6, n), 0) + np.where(accident, 8000, 0)
    comps = {
        "income_wage": np.round(wage), "income_business": np.round(business), "income_property": np.round(property_),
        "income_transfer": np.round(transfer), "expense_production": np.round(expense),
    }
    rec = pd.DataFrame(comps)
    rec["net_income"] = rec["income_wage"] + rec["income_business"] + rec["income_property"] \
        + rec["income_transfer"] - rec["expense_production"]
    rec["net_income_pc"] = (rec["net_income"] / size).round(2)
    rec["expense_rigid"] = np.round(rigid)
    rec["labor_count"] = labour
    rec["illness"], rec["disaster"], rec["accident"] = illness, disaster, accident
    rec["schooling"] = pupils > 0
    rec["workers"] = np.bincount(by, mem["employed"], n)
    # Basic needs (True = secured); failures are rare and cluster in poorer households.
    q = _needs_failure(rec["net_income_pc"].to_numpy(), year)
    rec["bn_food_clothing"] = rng.random(n) > q["food_clothing"]
    rec["bn_education"] = ~((pupils > 0) & (rng.random(n) < q["education"]))
    rec["bn_medical"] = rng.random(n) > q["medical"]
    rec["bn_housing"] = rng.random(n) > q["housing"]
    rec["bn_water"] = rng.random(n) > q["water"]
    rec["pupils"] = pupils
    rec["dibao"] = dibao
    rec["income_before_assistance_pc"] = before
    return rec


def _needs_failure(pc: np.ndarray, year: int) -> dict[str, np.ndarray]:
    """Chance that each basic need fails in ``year`` (education: for a household with pupils); failures are
    rare and cluster in poorer households (income below 1.5 times the threshold)."""
    poor = pc < THRESHOLDS[year] * 1.5
    early = year <= 2022
    return {"food_clothing": 0.0002 + 0.0005 * poor, "education": 0.0005 + 0.001 * poor,
            "medical": np.full(len(pc), 0.0008), "housing": 0.0003 + 0.002 * poor * early,
            "water": 0.0003 + 0.002 * poor * early}


def _risk_flags(rec: pd.DataFrame, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The identification tests of a year's records: income below the threshold, rigid spending beyond the
    household's means, and a basic need (三保障, water) not secured."""
    low = rec["net_income_pc"].to_numpy() < THRESHOLDS[year]
    rigid = (rec["expense_rigid"].to_numpy() > 0.6 * np.maximum(rec["net_income"].to_numpy(), 1)) \
        & (rec["expense_rigid"].to_numpy() > 20000)
    needs = ~rec[["bn_food_clothing", "bn_education", "bn_medical", "bn_housing", "bn_water"]].all(axis=1).to_numpy()
    return low, rigid, needs


def _monitoring_step(rng, rec: pd.DataFrame, pe: np.ndarray, state: pd.DataFrame, year: int) -> pd.DataFrame:
    """Identify, assist and eliminate: update the monitoring state with this year's records."""
    n = len(rec)
    low, rigid, needs = _risk_flags(rec, year)
    at_risk = low | rigid | needs
    st = state.copy()
    active = st["monitored"].to_numpy() & ~st["eliminated"].to_numpy()
    # Identification: most at-risk households are found (the rest are the coverage gap).
    found = at_risk & ~active & (rng.random(n) < FOUND_RATE)
    returned = found & st["eliminated"].to_numpy()
    day = rng.integers(0, 330, n)
    start = pd.Timestamp(f"{year}-01-01") + pd.to_timedelta(day, unit="D")
    mtype = np.where(low, np.where(pe, "脱贫不稳定户", "边缘易致贫户"), "突发严重困难户")
    st.loc[found, "monitored"] = True
    st.loc[found, "eliminated"] = False
    st.loc[found, "type"] = mtype[found]
    st.loc[found, "start"] = start[found]
    st.loc[found, "elim_date"] = pd.NaT
    st.loc[found, "elim_mode"] = ""
    st.loc[returned, "returns"] += 1
    risks = np.stack([rec["illness"], rec["schooling"] & rigid, rec["disaster"], rec["accident"],
                      rec["labor_count"] == 0, (rec["workers"] == 0) & (rec["labor_count"] > 0)], axis=1)
    labels = np.array(["因病", "因学", "因自然灾害", "因意外事故", "缺劳动力", "务工就业不稳"])
    st.loc[found, "risks"] = np.array([";".join(labels[r]) for r in risks[found]], dtype=object)
    aid = np.where(rec["labor_count"] > 0, "就业帮扶;产业帮扶", "综合保障")
    aid = np.where(rec["illness"], np.char.add(aid.astype(str), ";健康帮扶"), aid)
    st.loc[found, "aid"] = aid[found]
    # Elimination among those monitored before this year: income stably above the range and at least
    # half a year of monitoring; a few eliminations break the rules (for the audit to find).
    months = (pd.Timestamp(f"{year}-12-31") - pd.to_datetime(st["start"])).dt.days.to_numpy() / 30.4
    can = active & ~at_risk & (months >= 6) & (rec["labor_count"].to_numpy() > 0) & (rng.random(n) < 0.75)
    rule_break = active & ~can & (rng.random(n) < 0.03) & (rec["labor_count"].to_numpy() > 0)
    elim = can | rule_break
    elim_day = np.minimum(364, day + 30)
    st.loc[elim, "eliminated"] = True
    st.loc[elim, "elim_date"] = (pd.Timestamp(f"{year}-01-01") + pd.to_timedelta(elim_day, unit="D"))[elim]
    st.loc[elim, "elim_mode"] = np.where(rng.random(n) < 0.8, "帮扶消除", "自然消除")[elim]
    return st


def generate(seed: int = 0, counties: int = 7, households_per_county: int = 400,
             years: tuple[int, ...] = YEARS, oracle_replicates: int = ORACLE_REPLICATES) -> SynthRegion:
    """Generate the synthetic prefecture (deterministic for ``seed``).

    Returns the person-row export with Chinese headers and the ground truth of the embedded effects.
    """
    rng = np.random.default_rng(seed)
    villages, hh_village = _geography(rng, counties, households_per_county)
    hh, m = _people(rng, hh_village, villages)
    n = len(hh)
    state = pd.DataFrame({"monitored": False, "eliminated": False, "type": "", "start": pd.NaT,
                          "elim_date": pd.NaT, "elim_mode": "", "risks": "", "aid": "", "returns": 0,
                          "dibao": True}, index=range(n))   # 2020: households below the line were on the rolls
    state["start"] = pd.to_datetime(state["start"])
    state["elim_date"] = pd.to_datetime(state["elim_date"])
    frames, truths, oracle = [], [], []
    ids = _identities(rng, m, hh)
    risk, before = None, None
    for year in years:
        mem, truth = _year_members(rng, m, hh, year)
        rec = _household_year(rng, hh, mem, m, year, state, np.random.default_rng([seed, ASSIST_STREAM, year]))
        state = _monitoring_step(rng, rec, hh["poverty_exited"].to_numpy(), state, year)
        state["dibao"] = rec["dibao"].to_numpy()
        if risk is not None:
            oracle += _oracle_scores(risk, before, rec, state, year)
        if year != years[-1] and oracle_replicates:
            risk = _true_risk(seed, hh, m, state, year + 1, oracle_replicates)
            before = {"ratio": rec["net_income_pc"].to_numpy() / THRESHOLDS[year],
                      "monitored": state["monitored"].to_numpy()}
        frames.append(_export_rows(hh, m, mem, rec, state, ids, year))
        truths.append(truth.assign(year=year, village=hh["village"].to_numpy()[m["hh"]],
                                   workshop_year=hh["workshop_year"].to_numpy()[m["hh"]]))
    export = pd.concat(frames, ignore_index=True)
    truth = _ground_truth(pd.concat(truths, ignore_index=True), seed, counties, households_per_county, years)
    truth["warning_oracle"] = {
        "estimand": "AUC of each household's true probability of the event in year t+1 given the generator's "
                    "whole state at the end of year t (latent traits included), against the realised event",
        "probability": f"Monte Carlo over {oracle_replicates} replicate draws of year t+1 from that state, "
                       "with the assistance-reach, basic-needs and identification chances averaged exactly "
                       "(conditional Monte Carlo)",
        "pooled": "origin null: every origin but the first (which a rolling-origin validation only trains on)",
        "risk_process": {
            "fell": "income before social assistance below the threshold in t+1 and the minimum living allowance "
                    "not reaching the household that year",
            "dibao_reach_by_year": DIBAO_REACH,
            "observable_at_t": ["income relative to the threshold", "低保 received", "monitoring status",
                                "wage earners' months worked and ages", "income components"],
            "latent": ["attachment to work", "income and business levels", "person effects"],
            "shocks_in_t_plus_1": ["whether 低保 reaches", "jobs kept or lost", "months worked", "wages",
                                   "business income", "illness, disaster, accident"]},
        "outcomes": {"fell": "per-capita net income at or above the monitoring threshold in t, below it in t+1",
                     "newly_identified": "not a monitoring target in t, identified as one in t+1"},
        "by_origin": _oracle_auc(oracle)}
    return SynthRegion(export, truth)


def _true_risk(seed: int, hh: pd.DataFrame, m: pd.DataFrame, state: pd.DataFrame, year: int,
               replicates: int) -> dict[str, np.ndarray]:
    """Each household's probability of falling below the threshold and of being newly identified in ``year``.

    The generator's own year (members, incomes, shocks) is drawn ``replicates`` times from the state at the
    end of the year before, on copies of the prefecture stacked end to end, with a random stream of its own
    (the sample's draws are not disturbed). Whether assistance reaches a household, whether a basic need
    fails and whether identification finds an at-risk household are averaged exactly within each replicate
    (conditional Monte Carlo), which removes their sampling noise from these small probabilities; rigid
    spending is judged on the replicate's own incomes.
    """
    n, k = len(hh), len(m)
    rng = np.random.default_rng([seed, 104_729, year])
    hh = hh[["size", "poverty_exited", "business_level", "income_level", "village_effect", "workshop_year"]]
    m = m[["hh", "birth_year", "edu", "health", "sex", "poverty_exited", "person_effect", "work_draw",
           "location_pref"]].astype({"health": "category", "sex": "category", "location_pref": "category"})
    state = state[["monitored", "eliminated", "type", "start", "elim_date", "elim_mode", "risks", "aid", "returns",
                   "dibao"]]
    fell, new = np.zeros(n), np.zeros(n)
    chunk = max(1, min(replicates, 2_000_000 // max(k, 1)))
    done = 0
    while done < replicates:
        r = min(chunk, replicates - done)
        offset = np.repeat(np.arange(r) * n, k)
        hh_r = pd.concat([hh] * r, ignore_index=True)
        m_r = pd.concat([m] * r, ignore_index=True)
        m_r["hh"] = m_r["hh"].to_numpy() + offset
        state_r = pd.concat([state] * r, ignore_index=True)
        mem, _ = _year_members(rng, m_r, hh_r, year)
        rec = _household_year(rng, hh_r, mem, m_r, year, state_r)
        # Conditional Monte Carlo: the reach, basic-needs and identification coins are averaged exactly,
        # given the rest of the replicate (without assistance the income is the one before it).
        unreached = (rec["income_before_assistance_pc"].to_numpy() < THRESHOLDS[year]) \
            * (1 - _reach_probability(state_r))
        q = _needs_failure(rec["net_income_pc"].to_numpy(), year)
        secured = (1 - q["food_clothing"]) * (1 - q["education"] * (rec["pupils"].to_numpy() > 0)) \
            * (1 - q["medical"]) * (1 - q["housing"]) * (1 - q["water"])
        _, rigid, _ = _risk_flags(rec, year)
        at_risk = np.where(rigid, 1.0, 1 - secured * (1 - unreached))
        fell += unreached.reshape(r, n).sum(axis=0)
        new += (FOUND_RATE * at_risk * ~state_r["monitored"].to_numpy()).reshape(r, n).sum(axis=0)
        done += r
    return {"fell": fell / replicates, "newly_identified": new / replicates}


def _oracle_scores(risk: dict, before: dict, rec: pd.DataFrame, state: pd.DataFrame, year: int) -> list[dict]:
    """The true risk and the realised event for the transition into ``year``, on the populations the
    validation uses (above the threshold in t for ``fell``, not monitored in t for ``newly_identified``)."""
    event = {"fell": rec["net_income_pc"].to_numpy() < THRESHOLDS[year],
             "newly_identified": state["monitored"].to_numpy() & ~before["monitored"]}
    at_risk = {"fell": before["ratio"] >= 1, "newly_identified": ~before["monitored"]}
    return [{"outcome": outcome, "origin": year - 1, "y": event[outcome][at_risk[outcome]],
             "p": risk[outcome][at_risk[outcome]]} for outcome in ("fell", "newly_identified")]


def _oracle_auc(scored: list[dict]) -> list[dict]:
    """The oracle's AUC by outcome and origin, then pooled (``origin`` None) over the origins a rolling-origin
    validation tests: all but the first, which only trains."""
    def row(outcome, origin, y, p):
        n1, n0 = int(y.sum()), int((~y).sum())
        value = float(mannwhitneyu(p[y], p[~y]).statistic / (n1 * n0)) if n1 and n0 else None
        return {"outcome": outcome, "origin": origin, "n": len(y), "events": n1, "auc": value}
    rows = [row(s["outcome"], s["origin"], s["y"], s["p"]) for s in scored]
    for outcome in dict.fromkeys(s["outcome"] for s in scored):
        mine = [s for s in scored if s["outcome"] == outcome][1:]
        if not mine:
            continue
        rows.append(row(outcome, None, np.concatenate([s["y"] for s in mine]), np.concatenate([s["p"] for s in mine])))
    return rows


def _identities(rng, m: pd.DataFrame, hh: pd.DataFrame) -> pd.DataFrame:
    """Fictitious names, resident ID numbers (valid check characters) and phone numbers."""
    k = len(m)
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), len(hh))][m["hh"]]
    given = np.char.add(np.array(GIVEN)[rng.integers(0, len(GIVEN), k)],
                        np.where(rng.random(k) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), k)], ""))
    area = 419000 + hh["vcode"].str.slice(0, 2).astype(int).to_numpy()[m["hh"]] * 10 + 1
    month = rng.integers(1, 13, k)
    day = rng.integers(1, 29, k)
    seq = rng.integers(0, 100, k)
    sexdigit = np.where(m["sex"] == "男", rng.choice([1, 3, 5, 7, 9], k), rng.choice([0, 2, 4, 6, 8], k))
    first17 = [f"{a}{b}{mo:02d}{d:02d}{s:02d}{x}" for a, b, mo, d, s, x in
               zip(area, m["birth_year"], month, day, seq, sexdigit)]
    id_number = [f + id_check_char(f) for f in first17]
    phone = [f"1{p}{n:09d}" for p, n in zip(rng.choice([3, 5, 7, 8, 9], k), rng.integers(0, 10**9, k))]
    return pd.DataFrame({"name": np.char.add(surname, given), "id_number": id_number, "phone": phone})


def _flag(values) -> np.ndarray:
    return np.where(values, "是", "否")


def _export_rows(hh, m, mem, rec, state, ids, year) -> pd.DataFrame:
    """One year of the person-row export, as the monitoring system prints it (Chinese headers)."""
    h = m["hh"].to_numpy()
    r, st, house = rec.iloc[h].reset_index(drop=True), state.iloc[h].reset_index(drop=True), hh.iloc[h].reset_index(drop=True)
    monitored = st["monitored"]
    risks = st["risks"].where(monitored, "").str.split(";", expand=False)
    risk_cols = {f"致贫/返贫风险{i + 1}": risks.map(lambda v, i=i: v[i] if isinstance(v, list) and len(v) > i else "")
                 for i in range(2)}
    loc_zh = {"none": "", "in_county": "县内", "in_province": "省内县外", "out_province": "省外"}
    edu = np.array(EDUCATION)[m["edu"].to_numpy()]
    in_school = np.where((mem["age"] >= 6) & (mem["age"] <= 15), "义务教育阶段在校生",
                         np.where((mem["age"] >= 16) & (mem["age"] <= 21), "高中及以上在校生", "非在校生"))
    return pd.DataFrame({
        "省": PROVINCE, "市": PREFECTURE, "县(市、区、旗)": house["county"], "乡(镇)": house["township"],
        "行政村": house["village"], "户编号": house["hh_code"], "人编号": m["hh_code"] + m["slot"].map("{:02d}".format),
        "姓名": ids["name"], "证件号码": ids["id_number"], "联系电话": ids["phone"], "与户主关系": m["relation"],
        "性别": m["sex"], "年度": year, "家庭人口数": house["size"],
        "户类型": np.where(house["poverty_exited"], "脱贫户", "一般农户"),
        "监测对象类别": st["type"].where(monitored, ""),
        "识别监测时间": st["start"].dt.strftime("%Y-%m-%d").where(monitored, ""),
        "风险是否已消除": np.where(monitored, _flag(st["eliminated"]), ""),
        "风险消除方式": st["elim_mode"].where(st["eliminated"], ""),
        "消除监测时间": st["elim_date"].dt.strftime("%Y-%m-%d").where(st["eliminated"], ""),
        **risk_cols,
        "帮扶措施": st["aid"].where(monitored, ""),
        "文化程度": edu, "在校生状况": in_school, "健康状况": m["health"], "劳动技能": mem["skill"],
        "务工时间（月）": mem["months"], "务工所在地": mem["loc"].map(loc_zh), "务工收入": mem["wage"].astype(int),
        "是否帮扶车间就业": _flag(mem["workshop_job"]), "公益性岗位(月数)": mem["post_months"],
        "是否参加技能培训": _flag(mem["trained"]), "培训类型": mem["training_type"],
        "是否取得证书": np.where(mem["trained"], _flag(mem["certified"]), ""),
        "工资性收入": r["income_wage"].astype(int), "生产经营性收入": r["income_business"].astype(int),
        "财产性收入": r["income_property"].astype(int), "转移性收入": r["income_transfer"].astype(int),
        "生产经营性支出": r["expense_production"].astype(int), "纯收入（元）": r["net_income"].astype(int),
        "人均纯收入（元）": r["net_income_pc"].map("{:.2f}".format), "合规自付支出": r["expense_rigid"].astype(int),
        "是否享受低保": _flag(r["dibao"]), "是否参加大病保险": _flag(r["bn_medical"]),
        "危房户": _flag(~r["bn_housing"]), "是否解决安全饮用水": _flag(r["bn_water"]),
        "是否吃穿不愁": _flag(r["bn_food_clothing"]), "义务教育有保障": _flag(r["bn_education"]),
    })


def _ground_truth(t: pd.DataFrame, seed: int, counties: int, households_per_county: int, years) -> dict:
    """The embedded effects, structural and as realised in this sample."""
    trainees = t[t["trained"]]
    train = {
        "estimand": "ATT of training on trainees' employment (0/1) and wage income (yuan) in the training year",
        "covariates_that_drive_selection": ["age", "sex", "education", "labor_skill", "household_type"],
        "structural": {"employment_women": TRAIN_EFFECT_EMP, "employment_men": TRAIN_EFFECT_EMP_MEN,
                       "wage_premium": TRAIN_WAGE_PREMIUM},
        "att_employment": float((trainees["emp_1"].astype(float) - trainees["emp_0"]).mean()),
        "att_wage_income": float((trainees["wage_1"] - trainees["wage_0"]).mean()),
        "by_year": {}, "by_sex": {},
    }
    for year, grp in trainees.groupby("year"):
        train["by_year"][int(year)] = {"att_employment": float((grp["emp_1"].astype(float) - grp["emp_0"]).mean()),
                                       "att_wage_income": float((grp["wage_1"] - grp["wage_0"]).mean()),
                                       "trainees": int(len(grp))}
    for female, grp in trainees.groupby("female"):
        train["by_sex"]["female" if female else "male"] = {
            "att_employment": float((grp["emp_1"].astype(float) - grp["emp_0"]).mean()),
            "att_wage_income": float((grp["wage_1"] - grp["wage_0"]).mean())}
    able = t[t["able"]]
    rates = able.groupby(["village", "year", "workshop_year"])[["ws_emp_1", "ws_emp_0"]].mean().reset_index()
    rates["effect"] = rates["ws_emp_1"] - rates["ws_emp_0"]
    treated = rates[(rates["workshop_year"] > 0) & (rates["year"] >= rates["workshop_year"])].copy()
    treated["event_time"] = treated["year"] - treated["workshop_year"]
    workshop = {
        "estimand": "effect of an open assistance workshop on the village employment rate of working-age "
                    "labour (persons 16-64 with labour capacity), by years since opening",
        "unit": "village", "outcome": "employment rate", "cohorts": list(WORKSHOP_COHORTS),
        "structural_by_event_time": {str(k): v for k, v in WORKSHOP_EFFECT.items()},
        "att_by_event_time": {str(int(e)): float(v) for e, v in treated.groupby("event_time")["effect"].mean().items()},
        "att_group_time": [{"group": int(g), "year": int(y), "att": float(v)} for (g, y), v in
                           treated.groupby(["workshop_year", "year"])["effect"].mean().items()],
        "att_simple": float(treated["effect"].mean()),
        "villages_by_cohort": {str(int(k)): int(v) for k, v in
                               rates.drop_duplicates("village")["workshop_year"].value_counts().sort_index().items()},
    }
    return {"synthetic": True, "seed": seed, "counties": counties, "households_per_county": households_per_county,
            "years": list(map(int, years)), "training": train, "workshops": workshop,
            "workshop_openings": [{"village": v, "first_treated": int(g)} for v, g in
                                  rates.drop_duplicates("village")[["village", "workshop_year"]].itertuples(index=False)]}


def write(out_dir: str | Path, seed: int = 0, counties: int = 7, households_per_county: int = 400,
          years: tuple[int, ...] = YEARS, xlsx_counties: int = 1, gbk_counties: int = 1,
          oracle_replicates: int = ORACLE_REPLICATES, xlsx_writer: str = "openpyxl") -> list[Path]:
    """Write the synthetic prefecture as raw exports, one file per county, plus its ground truth.

    Most counties are UTF-8 CSV; ``gbk_counties`` are GBK-encoded CSV and ``xlsx_counties`` are XLSX,
    as offices send them. ``xlsx_writer`` "openpyxl" writes each text cell inline, its Chinese characters
    as character references; "xlsxwriter" writes text once in a shared table, in UTF-8, as Excel and WPS
    save a workbook (half the XML for the same cells). Files are written to temporary names and renamed
    when complete.
    """
    region = generate(seed, counties, households_per_county, years, oracle_replicates)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (county, frame) in enumerate(region.export.groupby("县(市、区、旗)", sort=True)):
        stem = f"SYNTHETIC_{PREFECTURE}_{county}_{years[0]}-{years[-1]}"
        path = out / (f"{stem}.xlsx" if i < xlsx_counties else f"{stem}.csv")
        with atomic_path(path) as tmp:
            if i < xlsx_counties:
                options = {"options": XLSXWRITER_OPTIONS} if xlsx_writer == "xlsxwriter" else None
                frame.to_excel(tmp, index=False, engine=xlsx_writer, engine_kwargs=options)
            else:
                encoding = "gbk" if i < xlsx_counties + gbk_counties else "utf-8-sig"
                frame.to_csv(tmp, index=False, encoding=encoding)
        written.append(path)
    truth = out / "ground_truth.json"
    truth.write_text(json.dumps(region.ground_truth, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "README.md").write_text(
        "# SYNTHETIC sample region (示例省 示例市)\n\n"
        "Every name, ID number, phone number and figure here is generated by `python -m analysis synth` "
        f"(seed {seed}); nothing describes real people or places. The ID numbers have valid check characters "
        "so that the privacy checks are exercised. `ground_truth.json` holds the effects embedded in the data.\n",
        encoding="utf-8")
    return written + [truth]


def households_panel(seed: int = 0, counties: int = 100, households_per_county: int = 24_000,
                     years: tuple[int, ...] = YEARS) -> pd.DataFrame:
    """A large canonical households table (no members, no personal data) for benchmarks and load tests.

    Vectorized and quick (12 M household-years in about a minute); magnitudes as in :func:`generate`, but
    without the monitoring history. Codes are canonical, not export spellings.
    """
    rng = np.random.default_rng(seed)
    n = counties * households_per_county
    county = np.repeat(np.arange(counties), households_per_county)
    size = rng.choice(np.arange(1, 7), size=n, p=[0.08, 0.2, 0.24, 0.24, 0.15, 0.09]).astype("int64")
    exited = rng.random(n) < 0.38
    level = rng.normal(0, 0.35, n) + np.where(exited, -0.12, 0.0)
    frames = []
    for t, year in enumerate(years):
        pc = 11_000 * np.exp(level + 0.085 * t + rng.normal(0, 0.12, n))
        net = pc * size
        wage, business, transfer = 0.68 * net, 0.27 * net, 0.03 * net
        property_ = net - wage - business - transfer + 0.08 * net
        frames.append(pd.DataFrame({
            "household_id": np.char.add("H", np.arange(n).astype(str)), "year": year,
            "province": PROVINCE, "prefecture": PREFECTURE,
            "county": np.char.add("县", county.astype(str)), "village": np.char.add(county.astype(str), "村"),
            "size": size, "household_type": np.where(exited, "poverty_exited", "general"),
            "income_wage": wage, "income_business": business + 0.08 * net, "income_property": property_ - 0.08 * net,
            "income_transfer": transfer, "expense_production": 0.08 * net, "net_income": net, "net_income_pc": pc,
        }))
    return pd.concat(frames, ignore_index=True)
