"""A CPU-bound FastAPI app used to show fnrun's CPU-based autoscaling."""

import os
import time

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="autoscale-cpu")


class LoadResult(BaseModel):
    cpu_time: float = Field(description="seconds spent summing")
    result: int = Field(description="sum of range(count)")
    hostname: str = Field(description="the replica that answered")


def busy_sum(count: int) -> int:
    """Sum 0..count-1 the slow way, to burn CPU on purpose."""
    total = 0
    for i in range(count):
        total += i
    return total


@app.get("/load/{count}", response_model=LoadResult)
def load(count: int = 1_000_000) -> LoadResult:
    started = time.perf_counter()
    total = busy_sum(count)
    spent = time.perf_counter() - started
    print(f"summed {count} numbers in {spent:.3f}s", flush=True)
    return LoadResult(cpu_time=spent, result=total, hostname=os.environ.get("HOSTNAME", "unknown"))


@app.get("/healthz")
def healthz() -> dict:
    return {"ok": True}
