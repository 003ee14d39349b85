// The window page's script: send what the clerk gives to the ecert server, show what it answers.
// Every word shown comes from the server's report; this script decides nothing and keeps nothing.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const API = "api/window/";
  let camera = null; // {stream, timer}

  function setState(state) {
    document.body.dataset.state = state;
    $("idle").hidden = state !== "idle";
    $("busy").hidden = state !== "busy";
    $("error").hidden = state !== "error";
    $("result").hidden = state !== "result";
  }

  function showError(message) {
    $("error").textContent = message;
    setState("error");
  }

  function showResult(r) {
    const v = r.verdict;
    $("verdict").className = "verdict " + v.kind;
    $("verdict-label").textContent = v.label;
    $("verdict-detail").textContent = v.detail;
    const face = $("face");
    face.classList.remove("zoom");
    if (r.face) {
      face.src = r.face;
      face.hidden = false;
    } else {
      face.removeAttribute("src");
      face.hidden = true;
    }
    $("face-note").textContent = r.face_note || "";
    $("face-note").hidden = !r.face_note;
    const body = $("fields").tBodies[0];
    body.replaceChildren();
    for (const f of r.fields) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = f.label;
      tr.appendChild(th);
      tr.insertCell().textContent = f.value;
    }
    $("source").textContent = r.source;
    $("verified-at").textContent = r.verified_at;
    const list = $("checks");
    list.replaceChildren();
    for (const c of r.checks) {
      const li = document.createElement("li");
      li.className = "check " + c.outcome;
      li.dataset.name = c.name;
      const mark = document.createElement("span");
      mark.className = "outcome";
      mark.textContent = c.outcome_zh;
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = c.label + (c.subject ? "（" + c.subject + "）" : "");
      const msg = document.createElement("span");
      msg.className = "message";
      msg.textContent = c.message;
      li.append(mark, label, msg);
      list.appendChild(li);
    }
    setState("result");
  }

  async function send(endpoint, body, type) {
    $("busy").textContent = "正在核验…";
    setState("busy");
    let answer;
    try {
      const response = await fetch(API + endpoint, {
        method: "POST",
        headers: { "Content-Type": type || "application/octet-stream" },
        body: body,
        credentials: "same-origin",
      });
      answer = await response.json();
    } catch (e) {
      showError("无法连接核验服务，或上传被中断（文件可能过大）。请检查后重试。");
      return null;
    }
    if (!answer.ok) {
      showError(answer.error && answer.error.message ? answer.error.message : "核验失败，请重试。");
      return null;
    }
    if (answer.found === false) return answer;
    showResult(answer.result);
    return answer;
  }

  function sendFile(file, endpoint) {
    if (file) send(endpoint, file, file.type || "application/octet-stream");
  }

  // --- inputs ---------------------------------------------------------------------------------
  const drop = $("drop");
  drop.addEventListener("click", () => $("file").click());
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") $("file").click();
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) sendFile(e.dataTransfer.files[0], "upload");
  });
  // a file dropped outside the zone must not make the browser navigate away from the page
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => e.preventDefault());
  $("file").addEventListener("change", (e) => {
    sendFile(e.target.files[0], "upload");
    e.target.value = "";
  });
  $("image").addEventListener("change", (e) => {
    sendFile(e.target.files[0], "image");
    e.target.value = "";
  });
  $("text-form").addEventListener("submit", (e) => {
    e.preventDefault();
    send("text", $("payload").value, "text/plain; charset=utf-8");
  });
  document.addEventListener("paste", (e) => {
    const items = e.clipboardData ? Array.from(e.clipboardData.items) : [];
    const picture = items.find((i) => i.kind === "file" && i.type.startsWith("image/"));
    if (picture) {
      e.preventDefault();
      sendFile(picture.getAsFile(), "image");
      return;
    }
    if (e.target === $("payload")) return; // pasting into the box: the clerk presses 核验
    const text = e.clipboardData ? e.clipboardData.getData("text") : "";
    if (text.trim()) {
      e.preventDefault();
      $("payload").value = text.trim();
      send("text", text.trim(), "text/plain; charset=utf-8");
    }
  });
  $("print").addEventListener("click", () => window.print());
  $("face").addEventListener("click", () => $("face").classList.toggle("zoom"));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") $("face").classList.remove("zoom");
  });

  // --- camera: frames go to the server, which decodes them with ecert's QR decoder -------------
  function stopCamera(message) {
    if (camera) {
      clearTimeout(camera.timer);
      camera.stream.getTracks().forEach((t) => t.stop());
      camera = null;
    }
    $("video").hidden = true;
    $("camera").textContent = "打开摄像头扫码";
    $("camera-status").textContent = message || "";
    $("camera-status").hidden = !message;
  }

  async function scan() {
    if (!camera) return;
    const video = $("video");
    if (video.videoWidth) {
      const scale = Math.min(1, 1280 / video.videoWidth);
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.85));
      if (!camera) return;
      const answer = blob ? await send("frame", blob, "image/jpeg") : null;
      if (!camera) return;
      if (answer && answer.found) {
        stopCamera("已识别二维码");
        return;
      }
      if (answer === null) {
        stopCamera("扫码已停止");
        return;
      }
      setState("busy");
      $("busy").textContent = "正在扫码：请将二维码对准摄像头…";
    }
    camera.timer = setTimeout(scan, 400);
  }

  $("camera").addEventListener("click", async () => {
    if (camera) {
      stopCamera("");
      setState("idle");
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("此浏览器无法使用摄像头（需通过 localhost 或 https 访问本页）。");
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 } },
        audio: false,
      });
      camera = { stream: stream, timer: null };
      const video = $("video");
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      $("camera").textContent = "关闭摄像头";
      $("camera-status").hidden = true;
      scan();
    } catch (e) {
      stopCamera("");
      showError("无法打开摄像头：请检查是否已连接并允许本页使用摄像头。");
    }
  });

  setState("idle");
})();
