"""Airflow DAG: run aipl's daily pipeline once a day, after the night's files have landed.

Copy this file into Airflow's dags/ folder and set the Airflow variable (or environment) AIPL_WORKSPACE to the
workspace folder. `aipl run daily` exits 0 when it ran, 99 when no new file had landed (the task is then marked
skipped, Airflow's `skip_on_exit_code` default) and 2 when a step failed (the task fails; its log names the step,
and the next try resumes from that step).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

WORKSPACE = os.environ.get("AIPL_WORKSPACE", "/srv/aipl/brand-x")

with DAG(
    dag_id="aipl_daily",
    schedule="30 6 * * *",  # 06:30 every day, after the night's landing
    start_date=datetime(2026, 1, 1),
    catchup=False,  # one run catches up on every file that landed since the last one
    max_active_runs=1,  # one writer at a time
    default_args={"retries": 2, "retry_delay": timedelta(minutes=15)},
) as dag:
    BashOperator(
        task_id="run_daily",
        bash_command="aipl run daily --json",
        env={"AIPL_WORKSPACE": WORKSPACE},
        append_env=True,  # keep PATH (where `aipl` is installed)
        skip_on_exit_code=99,  # nothing new landed: skipped, not failed
    )
