/* aiharness UI: times in the viewer's own time zone. The server writes every time as
   <time datetime="...Z" data-style="datetime|time">UTC text</time>; this rewrites the text
   (again after each HTMX swap) and names the zone in the footer. No libraries, nothing fetched. */
(function () {
  "use strict";
  var pad = function (n) { return String(n).padStart(2, "0"); };

  function zoneName() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function offsetLabel(date) {
    var minutes = -date.getTimezoneOffset();
    var sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    return "UTC" + sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function localText(date, style) {
    var time = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
    if (style === "time") { return time; }
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + time;
  }

  function localize(root) {
    var times = (root || document).querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { continue; }
      el.title = el.textContent;  // the UTC time stays one hover away
      el.textContent = localText(date, el.getAttribute("data-style"));
      el.setAttribute("data-local", "");
    }
  }

  function labelZone() {
    var label = document.getElementById("time-zone");
    if (!label) { return; }
    var zone = zoneName();
    var offset = offsetLabel(new Date());
    label.textContent = label.getAttribute("data-local").replace("{zone}", zone ? zone + " (" + offset + ")" : offset);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    labelZone();
  });
  document.addEventListener("htmx:load", function (event) { localize(event.target); });
  document.addEventListener("htmx:afterSwap", function (event) { localize(event.target); });
})();

/* Signed-in pages carry a CSRF token (<body data-csrf>); HTMX sends it through hx-headers, and
   this sends it with the page scripts' own same-origin fetch() calls that change something. */
(function () {
  "use strict";
  var original = window.fetch;
  if (!original) { return; }
  window.fetch = function (input, init) {
    var token = document.body && document.body.getAttribute("data-csrf");
    var options = init || {};
    var method = (options.method || (input && input.method) || "GET").toUpperCase();
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var sameOrigin = url.indexOf("://") === -1 || url.indexOf(window.location.origin + "/") === 0;
    if (token && sameOrigin && method !== "GET" && method !== "HEAD") {
      var headers = new Headers(options.headers || (input && input.headers) || {});
      if (!headers.has("X-CSRF-Token")) { headers.set("X-CSRF-Token", token); }
      options = Object.assign({}, options, { headers: headers });
    }
    return original.call(this, input, options);
  };
})();
