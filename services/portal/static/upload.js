// The clerk's upload with a progress bar: the file goes up as the form would send it, asking for the
// import's progress stream (one JSON line every half second while the rows are read and stored); the last
// line carries the page the plain form would have shown, whose <main> replaces this one. Without script
// the form posts as usual and the page answers when the import is done.
"use strict";

const PHASES = { reading: "Đang đọc / reading", storing: "Đang lưu / storing" };

function showProgress(bar, said, progress) {
  if (progress.rows_total) {
    bar.max = progress.rows_total;
    bar.value = Math.min(progress.rows_read, progress.rows_total);
  }
  const total = progress.rows_total ? ` / ${progress.rows_total.toLocaleString("vi-VN")}` : "";
  said.textContent = `${PHASES[progress.phase] || progress.phase}: ${progress.rows_read.toLocaleString("vi-VN")}${total} dòng / rows`;
}

function showPage(html) {
  const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
  if (fresh) document.querySelector("main").replaceWith(fresh);
  const result = document.getElementById("result");
  if (result) result.scrollIntoView();
}

async function upload(form) {
  const bar = document.getElementById("upload-progress");
  const said = document.getElementById("upload-said");
  bar.hidden = false;
  bar.removeAttribute("value"); // indeterminate until the first count
  said.textContent = "Đang gửi tệp / sending the file";
  form.querySelector("button[type=submit]").disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: { Accept: "application/x-ndjson" }, credentials: "same-origin",
    });
    if (!response.body || !(response.headers.get("content-type") || "").includes("ndjson")) {
      showPage(await response.text()); // a refusal answered as a page (session ended, form expired)
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        if (line.progress) showProgress(bar, said, line.progress);
        if (line.page) showPage(line.page);
      }
    }
  } catch (error) {
    said.textContent = "Mất kết nối khi gửi: mở lại trang để xem tệp đã lưu chưa / the connection was lost: open the page again to see whether the file was stored";
    form.querySelector("button[type=submit]").disabled = false;
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.id === "upload" && window.TextDecoderStream) {
    event.preventDefault();
    upload(form);
  }
});
