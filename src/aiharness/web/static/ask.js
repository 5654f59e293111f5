/* The Ask page: sends a question to POST /api/ask with stream:true and reads the server-sent
   events from fetch's ReadableStream (sources, token..., done | error); on done the streamed text
   is replaced by the final answer whose [n] markers become citation chips. Chips open the passage
   in a <dialog>; thumbs up/down post feedback; the sidebar lists, renames and deletes sessions.
   Every string the reader sees comes from the page (#ask-strings), in the page's language.
   No libraries beyond the vendored htmx (used only to refresh the session list). */
(function () {
  "use strict";

  var stringsEl = document.getElementById("ask-strings");
  if (!stringsEl) { return; }
  var S = JSON.parse(stringsEl.textContent);
  var MARKER = /\[(\d{1,3})\]/g;

  function fmt(text, params) {
    return String(text).replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : all;
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function part(root, role) { return root.querySelector('[data-role="' + role + '"]'); }

  function show(node, visible) { if (node) { node.hidden = !visible; } }

  // -- citations -------------------------------------------------------------------------------
  function sourcesOf(article) {
    try {
      return JSON.parse(article.getAttribute("data-sources") || "[]");
    } catch (e) {
      return [];
    }
  }

  function chip(n) {
    return el("button", {
      type: "button", "class": "cite-chip", "data-n": String(n),
      "aria-label": fmt(S.source, {n: n}), title: fmt(S.source, {n: n}),
    }, String(n));
  }

  /* The answer's text as nodes: [n] markers that name a source become chips, the rest text. */
  function citedNodes(text, sources) {
    var known = {};
    sources.forEach(function (s) { known[s.n] = true; });
    var nodes = [];
    var last = 0;
    text.replace(MARKER, function (match, n, offset) {
      if (!known[Number(n)]) { return match; }
      if (offset > last) { nodes.push(document.createTextNode(text.slice(last, offset))); }
      nodes.push(chip(Number(n)));
      last = offset + match.length;
      return match;
    });
    if (last < text.length) { nodes.push(document.createTextNode(text.slice(last))); }
    return nodes;
  }

  // -- the passage dialog ----------------------------------------------------------------------
  var dialog = document.getElementById("ask-passage");

  function openPassage(source) {
    if (!dialog || !source) { return; }
    part(dialog, "title").textContent = fmt(S.passage_title, {n: source.n});
    part(dialog, "file").textContent = source.file_name || source.source_path || "";
    part(dialog, "page").textContent = source.page === null || source.page === undefined ? "" : String(source.page);
    part(dialog, "heading").textContent = source.heading || "";
    dialog.querySelectorAll('[data-field="page"]').forEach(function (n) { show(n, source.page !== null && source.page !== undefined); });
    dialog.querySelectorAll('[data-field="heading"]').forEach(function (n) { show(n, !!source.heading); });
    part(dialog, "collection").textContent = source.collection || "";
    part(dialog, "score").textContent = typeof source.score === "number" ? source.score.toFixed(4) : "";
    part(dialog, "text").textContent = source.text || "";
    var open = part(dialog, "open");
    open.href = "/ask/sources/" + encodeURIComponent(source.chunk_id);
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
  }

  if (dialog) {
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog || event.target.closest('[data-action="close-passage"]')) { dialog.close(); }
    });
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest(".cite-chip, .ask-source-link");
    if (!trigger) { return; }
    var article = trigger.closest("[data-sources]");
    if (!article) { return; }
    var n = Number(trigger.getAttribute("data-n"));
    var source = sourcesOf(article).filter(function (s) { return s.n === n; })[0];
    openPassage(source);
  });

  // -- feedback --------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".ask-feedback [data-rating]");
    var cancel = event.target.closest('.ask-feedback [data-action="cancel-feedback"]');
    if (!button && !cancel) { return; }
    var box = (button || cancel).closest(".ask-feedback");
    var form = box.querySelector(".ask-feedback-form");
    if (cancel) {
      form.hidden = true;
      box.querySelectorAll("[data-rating]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
      return;
    }
    box.querySelectorAll("[data-rating]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    box.setAttribute("data-rating", button.getAttribute("data-rating"));
    form.hidden = false;
    form.querySelector("textarea").focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".ask-feedback-form");
    if (!form) { return; }
    event.preventDefault();
    var box = form.closest(".ask-feedback");
    var article = form.closest("[data-answer-id]");
    var status = box.querySelector(".ask-feedback-status");
    var data = new FormData(form);
    var body = {rating: box.getAttribute("data-rating") || "up"};
    ["comment", "corrected_answer"].forEach(function (name) {
      var value = String(data.get(name) || "").trim();
      if (value) { body[name] = value; }
    });
    var submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    fetch("/api/ask/" + encodeURIComponent(article.getAttribute("data-answer-id")) + "/feedback", {
      method: "POST", headers: {"Content-Type": "application/json", Accept: "application/json"},
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) { return problem(response).then(function (m) { throw new Error(m); }); }
      form.hidden = true;
      form.reset();
      status.classList.remove("error-text");
      status.textContent = S.feedback_thanks;
      box.setAttribute("data-sent", body.rating);
      return null;
    }).catch(function (error) {
      status.classList.add("error-text");
      status.textContent = S.feedback_failed + " " + S.error_detail + " " + error.message;
    }).then(function () { submit.disabled = false; });
  });

  function problem(response) {
    return response.json().then(function (body) {
      var error = body && body.error;
      return (error && error.message) || response.status + " " + response.statusText;
    }, function () { return response.status + " " + response.statusText; });
  }

  // -- the conversation ------------------------------------------------------------------------
  var root = document.getElementById("ask");
  if (!root) { return; }  // the trace page has chips and the dialog only
  var form = document.getElementById("ask-form");
  var question = document.getElementById("ask-question");
  var conversation = document.getElementById("ask-conversation");
  var submitButton = form.querySelector('button[type="submit"]');
  var stopButton = form.querySelector('[data-action="stop"]');
  var controller = null;

  function fromTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function scrollToEnd(node) {
    if (node && node.scrollIntoView) { node.scrollIntoView({block: "end"}); }
  }

  /* A message the server wrote in English, in the page's language when it is a known pattern
     (S.reasons: [English template, translated template] with {placeholders}). */
  function translated(message) {
    for (var i = 0; i < S.reasons.length; i++) {
      var names = [];
      var source = S.reasons[i][0].split(/\{(\w+)\}/).map(function (piece, index) {
        if (index % 2) { names.push(piece); return "([\\s\\S]+?)"; }
        return piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      }).join("");
      var match = new RegExp("^" + source + "$").exec(message.trim());
      if (match) {
        var params = {};
        names.forEach(function (name, index) { params[name] = match[index + 1]; });
        return fmt(S.reasons[i][1], params);
      }
    }
    return message;
  }

  function renderMeta(article, meta) {
    var generator = part(article, "generator");
    generator.className = "badge gen-" + meta.generator;
    generator.textContent = meta.generator === "extractive" ? S.generator_extractive : S.generator_llm;
    if (meta.generator === "extractive") { generator.title = S.generator_extractive_hint; }
    show(part(article, "refused"), !!meta.refused);
    var fallback = part(article, "fallback");
    if (meta.fallback_reason) {
      fallback.textContent = fmt(S.fallback, {reason: translated(meta.fallback_reason)});
    }
    show(fallback, !!meta.fallback_reason);
    var model = part(article, "model");
    model.textContent = meta.model || "";
    show(model, !!meta.model);
    part(article, "latency").textContent = typeof meta.latency_ms === "number" ? fmt(S.latency, {ms: Math.round(meta.latency_ms)}) : "";
    var trace = part(article, "trace");  // operators only
    if (trace) { trace.href = "/ask/answers/" + encodeURIComponent(meta.answer_id); }
    show(part(article, "meta"), true);
    show(part(article, "feedback"), true);
  }

  function renderRelated(article, related) {
    var list = part(article, "related-list");
    list.textContent = "";
    related.forEach(function (s) {
      var item = el("li");
      var label = s.file_name + (s.page === null || s.page === undefined ? "" : " · " + fmt(S.page, {page: s.page}));
      item.appendChild(el("button", {type: "button", "class": "ask-source-link", "data-n": String(s.n)}, label));
      if (s.heading) { item.appendChild(document.createTextNode(" ")); item.appendChild(el("small", {"class": "muted"}, s.heading)); }
      list.appendChild(item);
    });
    show(part(article, "related"), related.length > 0);
  }

  /* The done event: the final cleaned answer replaces what streamed. */
  function renderFinal(article, body) {
    var sources = (body.sources || []).concat(body.maybe_related || []);
    article.setAttribute("data-sources", JSON.stringify(sources));
    article.setAttribute("data-answer-id", body.meta.answer_id);
    article.setAttribute("data-generator", body.meta.generator);
    var text = part(article, "text");
    text.classList.remove("streaming");
    text.setAttribute("aria-busy", "false");
    text.replaceChildren.apply(text, citedNodes(body.answer || "", body.sources || []));
    renderRelated(article, body.maybe_related || []);
    renderMeta(article, body.meta);
    article.setAttribute("data-state", "done");
  }

  function renderError(article, message) {
    var text = part(article, "text");
    text.classList.remove("streaming");
    text.setAttribute("aria-busy", "false");
    var box = el("div", {"class": "ask-error", role: "alert"});
    box.appendChild(el("p", {"class": "error-text"}, S.error));
    if (message) {
      var detail = el("p", {"class": "muted"});
      detail.appendChild(el("small", {}, S.error_detail + " "));
      detail.appendChild(el("code", {}, message));
      box.appendChild(detail);
    }
    text.appendChild(box);
    article.setAttribute("data-state", "error");
  }

  /* Server-sent events from a fetch body: calls onEvent(name, data) for each complete event. */
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
        else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
      });
      if (data.length) { onEvent(name, JSON.parse(data.join("\n"))); }
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          if (buffer.trim()) { dispatch(buffer.replace(/\r/g, "")); }
          return null;
        }
        buffer += decoder.decode(chunk.value, {stream: true}).replace(/\r/g, "");
        var cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (block.trim()) { dispatch(block); }
        }
        return pump();
      });
    }
    return pump();
  }

  var sessionId = root.getAttribute("data-session") || "";

  function refreshSessions() {
    var url = "/ui/ask/sessions" + (sessionId ? "?current=" + encodeURIComponent(sessionId) : "");
    if (window.htmx) { window.htmx.ajax("GET", url, {target: "#ask-sessions", swap: "innerHTML"}); }
  }

  /* A new conversation gets a session on its first question. */
  function ensureSession(text) {
    if (sessionId) { return Promise.resolve(sessionId); }
    return fetch("/api/chat/sessions", {
      method: "POST", headers: {"Content-Type": "application/json", Accept: "application/json"},
      body: JSON.stringify({}),  // the server names it after its first question
    }).then(function (response) {
      if (!response.ok) { return problem(response).then(function (m) { throw new Error(m); }); }
      return response.json();
    }).then(function (created) {
      sessionId = created.id;
      root.setAttribute("data-session", sessionId);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "/ask?session=" + encodeURIComponent(sessionId));
      }
      return sessionId;
    });
  }

  function busy(on) {
    submitButton.disabled = on;
    stopButton.hidden = !on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function ask(text) {
    var empty = conversation.querySelector(".ask-empty");
    if (empty) { empty.hidden = true; }
    var asked = fromTemplate("ask-question-template");
    part(asked, "text").textContent = text;
    conversation.appendChild(asked);
    var article = fromTemplate("ask-answer-template");
    var out = part(article, "text");
    out.classList.add("streaming");
    out.setAttribute("aria-live", "polite");
    out.setAttribute("aria-busy", "true");
    out.appendChild(el("span", {"class": "muted ask-status"}, S.thinking));
    article.setAttribute("data-state", "waiting");
    article.setAttribute("data-tokens", "0");
    conversation.appendChild(article);
    scrollToEnd(article);

    var data = new FormData(form);
    var body = {question: text, stream: true};
    var k = parseInt(String(data.get("k") || ""), 10);
    if (k >= 1 && k <= 20) { body.k = k; }
    if (data.get("collection")) { body.collections = [String(data.get("collection"))]; }
    controller = new AbortController();
    busy(true);
    var tokens = 0;
    var finished = false;
    function post(retried) {
      return ensureSession(text).then(function (id) {
        if (id) { body.session_id = id; } else { delete body.session_id; }
      }, function () { delete body.session_id; /* no session: still answered */ }).then(function () {
        return fetch("/api/ask", {
          method: "POST", signal: controller.signal,
          headers: {"Content-Type": "application/json", Accept: "text/event-stream"},
          body: JSON.stringify(body),
        });
      }).then(function (response) {
        if (response.status !== 404 || retried || !body.session_id) { return response; }
        // The open conversation was deleted (another tab): continue in a new one.
        return response.clone().json().then(function (problemBody) {
          if (!problemBody.error || problemBody.error.code !== "session_not_found") { return response; }
          sessionId = "";
          return post(true);
        }, function () { return response; });
      });
    }
    return post(false).then(function (response) {
      if (!response.ok) { return problem(response).then(function (m) { throw new Error(m); }); }
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("text/event-stream") < 0) {
        return response.json().then(function (final) { finished = true; renderFinal(article, final); });
      }
      return readEvents(response, function (name, payload) {
        if (name === "sources") {
          article.setAttribute("data-sources", JSON.stringify(payload.sources || []));
          if (payload.answer_id) { article.setAttribute("data-answer-id", payload.answer_id); }
          out.textContent = "";
          out.appendChild(el("span", {"class": "muted ask-status"}, S.streaming));
        } else if (name === "token") {
          if (tokens === 0) { out.textContent = ""; article.setAttribute("data-state", "streaming"); }
          tokens += 1;
          article.setAttribute("data-tokens", String(tokens));
          out.appendChild(document.createTextNode(payload.text || ""));
        } else if (name === "done") {
          finished = true;
          renderFinal(article, payload);
        } else if (name === "error") {
          finished = true;
          renderError(article, payload.error && payload.error.message);
        }
      });
    }).then(function () {
      if (!finished) { renderError(article, ""); }
    }).catch(function (error) {
      if (error.name === "AbortError") {
        out.classList.remove("streaming");
        out.setAttribute("aria-busy", "false");
        out.appendChild(el("p", {"class": "muted"}, S.stopped));
        article.setAttribute("data-state", "stopped");
      } else {
        renderError(article, error.message);
      }
    }).then(function () {
      controller = null;
      busy(false);
      scrollToEnd(article);
      refreshSessions();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = question.value.trim();
    if (!text || controller) { return; }
    question.value = "";
    ask(text).then(function () { question.focus(); });
  });

  // A reopened conversation shows its latest turn, next to the question box.
  var turns = conversation.querySelectorAll(".ask-msg");
  if (turns.length) { scrollToEnd(turns[turns.length - 1]); }

  stopButton.addEventListener("click", function () { if (controller) { controller.abort(); } });

  // Enter sends, Shift+Enter is a new line; never while an input method composes (Hangul).
  question.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", {cancelable: true})); }
    }
  });

  // -- the session list (sidebar) ---------------------------------------------------------------
  var sidebar = document.getElementById("ask-history");
  sidebar.addEventListener("click", function (event) {
    var toggle = event.target.closest('[data-action="toggle-history"]');
    if (toggle) {
      var open = sidebar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var action = event.target.closest('[data-action="rename-session"], [data-action="delete-session"]');
    if (!action) { return; }
    var item = action.closest("[data-session-id]");
    var id = item.getAttribute("data-session-id");
    var title = item.getAttribute("data-title");
    var url = "/api/chat/sessions/" + encodeURIComponent(id);
    var request;
    if (action.getAttribute("data-action") === "rename-session") {
      var name = window.prompt(S.rename_prompt, title);
      if (name === null || !name.trim()) { return; }
      request = fetch(url, {
        method: "PATCH", headers: {"Content-Type": "application/json", Accept: "application/json"},
        body: JSON.stringify({title: name.trim().slice(0, 200)}),
      });
    } else {
      if (!window.confirm(fmt(S.delete_confirm, {title: title}))) { return; }
      request = fetch(url, {method: "DELETE", headers: {Accept: "application/json"}});
    }
    request.then(function (response) {
      if (!response.ok) { return problem(response).then(function (m) { throw new Error(m); }); }
      if (id === sessionId && action.getAttribute("data-action") === "delete-session") {
        window.location.assign("/ask");
      } else {
        var heading = document.querySelector(".ask-session-title");
        if (id === sessionId && heading && name) { heading.textContent = "· " + name.trim().slice(0, 200); }
        refreshSessions();
      }
      return null;
    }).catch(function (error) { window.alert(S.error + " " + S.error_detail + " " + error.message); });
  });
})();
