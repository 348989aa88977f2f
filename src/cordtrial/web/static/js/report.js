// Shows a report's progress while it is built in the background (polls the API).
(() => {
  const box = document.getElementById("report-job");
  if (!box) return;
  const id = box.dataset.job;
  const state = document.getElementById("job-state");
  const steps = document.getElementById("job-steps");
  const error = document.getElementById("job-error");
  const done = document.getElementById("job-done");
  const bar = document.getElementById("job-progress");

  function show(job) {
    state.textContent = job.state;
    state.className = "badge " + (job.state === "done" ? "ok" : job.state === "failed" ? "bad" : "warn");
    box.dataset.state = job.state;
    steps.replaceChildren(...job.steps.map((text, i) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (i === job.steps.length - 1 && job.state === "running") li.className = "running";
      return li;
    }));
    if (job.state === "failed") {
      error.textContent = job.error || "the report could not be built";
      error.hidden = false;
    }
    if (job.state === "done") {
      bar.value = 1;
      done.hidden = false;
    }
  }

  async function poll() {
    try {
      const r = await fetch(`/api/v1/reports/${id}`, { headers: { Accept: "application/json" } });
      if (r.ok) {
        const job = await r.json();
        show(job);
        if (job.state === "done" || job.state === "failed") return;
      }
    } catch (e) {
      // the server is busy or restarting: try again
    }
    setTimeout(poll, 1000);
  }

  if (box.dataset.state !== "done" && box.dataset.state !== "failed") poll();
})();
