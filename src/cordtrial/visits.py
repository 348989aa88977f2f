"""Protocol visit codes shared by the store, the analysis contract and the web app.

The schedule of the model study (Honmou et al. 2021, see ../shared/reference/study.md):
screening, before infusion, infusion day, then day 1, week 1 and months 1, 3, 6 and 12.
"""

VISITS: tuple[str, ...] = (
    "screening",
    "pre_infusion",
    "infusion_day",
    "day1",
    "week1",
    "month1",
    "month3",
    "month6",
    "month12",
    "unscheduled",
)
