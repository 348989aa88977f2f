// Bedside chain-of-identity hints while scanning; the server decides (store rules).
(function () {
  "use strict";
  const form = document.getElementById("infusion-form");
  if (!form) return;
  const patient = form.dataset.patient;
  const lots = form.dataset.lots ? form.dataset.lots.split(",") : [];
  function hint(input, out, ok, good, bad) {
    const v = input.value.trim();
    out.textContent = !v ? "" : ok(v) ? "✓ " + good : "✗ " + bad;
    out.className = "small " + (!v ? "" : ok(v) ? "badge ok" : "badge bad");
  }
  const wb = document.getElementById("f-wristband_code");
  const lb = document.getElementById("f-label_code");
  const wbOut = document.getElementById("wristband-check");
  const lbOut = document.getElementById("label-check");
  const check = () => {
    hint(wb, wbOut, (v) => v === patient, "wristband matches " + patient, "wristband is not " + patient);
    hint(lb, lbOut, (v) => lots.includes(v), "label is a released lot of " + patient,
      "label is not a released lot of " + patient);
  };
  wb.addEventListener("input", check);
  lb.addEventListener("input", check);
  check();
})();
