// Show every <time datetime="...Z"> in the viewer's own time zone; UTC text stays without JS.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function local(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) { return; }
      el.title = el.getAttribute("datetime");
      el.textContent = local(d);
    });
    var zone = document.getElementById("zone");
    if (zone && window.Intl) { zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; }
  });
})();
