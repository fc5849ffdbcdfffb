/**
 * Modbus table: every row of a Modbus server's device in one virtualised table, live.
 *
 * One plain ES module, no build step, no dependency: a custom element Home Assistant's
 * frontend creates for the panel and hands `hass`, `narrow` and `panel`. It talks to the
 * integration only over the websocket commands of `panel/websocket.py`:
 *
 *   modbus_server/table/servers     servers and their devices (the picker)
 *   modbus_server/table/rows        one compact payload: field names + one array per row
 *   modbus_server/table/subscribe   pushed batches of changed values; {table: true} on reload
 *   modbus_server/table/activity    last read / last write per row (polled while open)
 *   modbus_server/table/update_row  an inline edit, checked like the row flow
 *   modbus_server/table/delete_rows the selected rows
 *   modbus_server/table/export      the table as CSV (the integration's export format)
 *
 * Why it stays fast at 5 000 rows: rows are plain objects kept in memory; filtering and
 * sorting produce a new array of row indices (`view`), never DOM; only the rows inside the
 * scrolled window (plus a margin) exist as elements, taken from a pool and refilled as the
 * window moves. A live value touches only the cells of its row when that row is visible.
 * Labels come from the integration's translations (strings.json, category "panel").
 */

const ROW_HEIGHT = 32;
const EDITOR_HEIGHT = 120;
const OVERSCAN = 8;
const ACTIVITY_POLL_MS = 2000;
const FILTER_DELAY_MS = 100;
const DOMAIN = "modbus_server";
const WS = `${DOMAIN}/table`;

const AREA_SHORT = {
  coil: "CO",
  discrete_input: "DI",
  input_register: "IR",
  holding_register: "HR",
};
const AREA_ORDER = ["coil", "discrete_input", "input_register", "holding_register"];
const REGISTER_TYPES = [
  "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string",
];
/** Word/byte order names (registermap.datatypes.layout_name) -> [word_order, byte_order]. */
const LAYOUTS = {
  ABCD: ["big", "big"],
  CDAB: ["little", "big"],
  BADC: ["big", "little"],
  DCBA: ["little", "little"],
};

/**
 * The columns: `text` renders a cell, `sort` gives the sort key (default: the text).
 * `t` is the translation key of the header (component.modbus_server.panel.column_<id>).
 */
const COLUMNS = [
  { id: "select", width: "34px" },
  { id: "plc", width: "78px", text: (r) => r.plc, sort: (r) => sortAddress(r) },
  {
    id: "address",
    width: "78px",
    text: (r) => `${AREA_SHORT[r.area]} ${r.address}${r.data_type === "bit" ? "." + r.bit : ""}`,
    sort: (r) => sortAddress(r),
  },
  { id: "area", width: "112px", text: (r, ui) => ui.t(`area_${r.area}`), sort: (r) => sortAddress(r) },
  { id: "type", width: "130px", text: (r) => typeText(r) },
  { id: "scale", width: "84px", text: (r) => scaleText(r), sort: (r) => r.scale * 1e9 + r.offset },
  { id: "unit", width: "64px", text: (r) => r.unit || "" },
  {
    id: "source",
    width: "minmax(180px, 2fr)",
    text: (r, ui) => r.source || `${ui.t("owned")}${r.name ? " · " + r.name : ""}`,
  },
  { id: "writable", width: "70px", text: (r, ui) => (r.writable ? ui.t("yes") : "") },
  {
    id: "unavailable",
    width: "80px",
    text: (r) => (r.unavailable_value === null ? "" : String(r.unavailable_value)),
  },
  { id: "raw", width: "minmax(120px, 1fr)", text: (r, ui) => ui.rawText(r), live: true },
  { id: "value", width: "minmax(100px, 1fr)", text: (r, ui) => ui.valueText(r), live: true },
  { id: "read", width: "70px", text: (r, ui) => ui.ageText(ui.activity.read[r.key]), live: true },
  { id: "write", width: "70px", text: (r, ui) => ui.ageText(ui.activity.write[r.key]), live: true },
  { id: "edit", width: "40px" },
];
COLUMNS.forEach((column, index) => (column.index = index));
const SORT_BY_LIVE = {
  raw: (r, ui) => ui.rawText(r),
  value: (r, ui) => {
    const value = ui.values.get(r.key)?.[1];
    return typeof value === "number" ? value : value === null || value === undefined ? -Infinity : String(value);
  },
  read: (r, ui) => ui.activity.read[r.key] || 0,
  write: (r, ui) => ui.activity.write[r.key] || 0,
};

function sortAddress(r) {
  return AREA_ORDER.indexOf(r.area) * 1e7 + r.address * 16 + (r.bit || 0);
}

function typeText(r) {
  if (r.data_type === "bool") return "bool";
  if (r.data_type === "bit") return `bit ${r.bit}`;
  if (r.data_type === "string") return `string ×${r.length}`;
  const multi = r.count > 1 ? ` ${r.order}` : r.order === "BADC" ? " BA" : "";
  return `${r.data_type}${multi}`;
}

function scaleText(r) {
  if (r.scale === 1 && r.offset === 0) return "";
  return `×${r.scale}${r.offset ? (r.offset > 0 ? " +" : " ") + r.offset : ""}`;
}

/** The editor field an error of the rules belongs to (word and byte order share one). */
function editorField(name) {
  return name === "word_order" || name === "byte_order" ? "order" : name;
}

function hex(cell) {
  return cell.toString(16).toUpperCase().padStart(4, "0");
}

const STYLE = `
:host { display: block; height: 100dvh; background: var(--primary-background-color);
  color: var(--primary-text-color); font-family: var(--ha-font-family-body, Roboto, sans-serif);
  font-size: 14px; }
.page { display: flex; flex-direction: column; height: 100%; }
header { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 8px 12px;
  background: var(--app-header-background-color, var(--primary-color));
  color: var(--app-header-text-color, white); min-height: 48px; box-sizing: border-box; }
header h1 { font-size: 20px; font-weight: 400; margin: 0 12px 0 0; white-space: nowrap; }
.toolbar { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 8px 12px;
  border-bottom: 1px solid var(--divider-color); background: var(--card-background-color); }
.toolbar .grow { flex: 1; }
input, select, button { font: inherit; color: var(--primary-text-color); }
input[type=search], input[type=text], input[type=number], select {
  background: var(--secondary-background-color, #f5f5f5); border: 1px solid var(--divider-color);
  border-radius: 4px; padding: 5px 8px; box-sizing: border-box; }
input[type=search] { min-width: 360px; }
button { background: none; border: 1px solid var(--divider-color); border-radius: 4px;
  padding: 5px 12px; cursor: pointer; }
button.primary { background: var(--primary-color); color: var(--text-primary-color, white);
  border-color: var(--primary-color); }
button.danger { color: var(--error-color, #db4437); border-color: var(--error-color, #db4437); }
button:disabled { opacity: 0.5; cursor: default; }
.count { color: var(--secondary-text-color); white-space: nowrap; }
.banner { padding: 8px 12px; background: var(--error-color, #db4437); color: white; }
.banner[hidden] { display: none; }
.notice { padding: 8px 12px; color: var(--secondary-text-color); }
.table { flex: 1; display: flex; flex-direction: column; min-height: 0;
  background: var(--card-background-color); overflow-x: auto; }
.grid { display: grid; grid-template-columns: var(--columns); align-items: center; }
.head { position: sticky; top: 0; z-index: 2; font-weight: 500; border-bottom: 1px solid var(--divider-color);
  background: var(--card-background-color); min-width: var(--min-width); }
.head > div { padding: 8px 6px; cursor: pointer; user-select: none; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.head > div[data-sort]::after { content: attr(data-sort); margin-left: 4px; color: var(--primary-color); }
.scroller { flex: 1; min-height: 0; overflow-y: auto; overflow-x: hidden; position: relative; min-width: var(--min-width); }
.spacer { position: relative; }
.row { position: absolute; left: 0; right: 0; height: ${ROW_HEIGHT}px;
  border-bottom: 1px solid var(--divider-color); box-sizing: border-box; }
.row:hover { background: var(--secondary-background-color, #f5f5f5); }
.row.selected { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.12); }
.row.editing { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.2); }
.row > div { padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; line-height: ${ROW_HEIGHT - 1}px; }
.mono { font-family: var(--ha-font-family-code, ui-monospace, monospace); font-size: 13px; }
.dim { color: var(--secondary-text-color); }
.bad { color: var(--error-color, #db4437); }
.flash { animation: flash 0.8s ease-out; }
@keyframes flash { from { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.35); } to { background: transparent; } }
:host([readonly]) .row button.edit, :host([readonly]) input[type=checkbox],
:host([readonly]) button.delete { visibility: hidden; }
.row button.edit { border: none; padding: 0 6px; font-size: 16px; line-height: ${ROW_HEIGHT - 2}px; }
.editor { position: absolute; left: 0; right: 0; height: ${EDITOR_HEIGHT}px; box-sizing: border-box;
  padding: 8px 16px; border-bottom: 2px solid var(--primary-color); z-index: 1;
  background: var(--secondary-background-color, #f5f5f5); overflow: auto; }
.editor .fields { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-start; }
.editor label { display: flex; flex-direction: column; font-size: 12px; color: var(--secondary-text-color); }
.editor label input, .editor label select { margin-top: 2px; font-size: 14px; width: 120px; }
.editor label.wide input { width: 200px; }
.editor label.check { flex-direction: row; align-items: center; gap: 4px; margin-top: 18px; }
.editor label.check input { width: auto; margin: 0; }
.editor .error { color: var(--error-color, #db4437); font-size: 13px; white-space: normal; }
.editor label.invalid input, .editor label.invalid select { border-color: var(--error-color, #db4437); }
.editor .actions { display: flex; gap: 8px; margin-top: 8px; align-items: center; }
`;

class ModbusServerTable extends HTMLElement {
  constructor() {
    super();
    this.rows = [];            // row objects, in the order the server sent them
    this.view = [];            // indices into rows: filtered and sorted
    this.byKey = new Map();    // key -> index into rows
    this.values = new Map();   // key -> [cells | null, value, exception name | null]
    this.activity = { read: {}, write: {}, skew: 0 };
    this.selected = new Set(); // keys
    this.sort = { column: "plc", descending: false };
    this.filter = { text: "", area: "" };
    this.editing = null;       // {key, draft, errors}
    this.pool = [];            // row elements, reused
    this.visible = new Map();  // key -> row element currently showing it
    this.labels = null;
    this.device = null;        // {entry_id, device_id}
    this._unsubscribe = null;
    this._frame = 0;
  }

  // --- Home Assistant hands us these ------------------------------------------------------

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (this._menu) this._menu.hass = hass;
    if (first && this.isConnected) this._start();
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this._narrow = narrow;
    if (this._menu) this._menu.narrow = narrow;
  }

  connectedCallback() {
    performance.mark("modbus-table:connected");
    if (!this.shadowRoot) this._build();
    if (this._hass && !this._started) this._start();
  }

  disconnectedCallback() {
    this._stop();
  }

  // --- translations and formatting ----------------------------------------------------------

  t(key, placeholders) {
    const text = this.labels ? this.labels(`component.${DOMAIN}.panel.${key}`, placeholders) : "";
    return text || key;
  }

  rawText(row) {
    const value = this.values.get(row.key);
    if (!value) return "";
    if (value[0] === null) return value[2] || "";
    return value[0].map(hex).join(" ");
  }

  valueText(row) {
    const value = this.values.get(row.key);
    if (!value) return "";
    const engineering = value[1];
    if (value[3]) return ""; // a profile row whose slot is not bound: no value (source says so)
    if (engineering === null || engineering === undefined) return this.t("unavailable");
    if (typeof engineering === "boolean") return engineering ? "1" : "0";
    if (typeof engineering === "number") {
      const text = Number.isInteger(engineering) ? String(engineering) : String(+engineering.toPrecision(7));
      return row.unit ? `${text} ${row.unit}` : text;
    }
    return String(engineering);
  }

  ageText(when) {
    if (!when) return "";
    const age = Math.max(0, Date.now() / 1000 + this.activity.skew - when);
    if (age < 60) return `${Math.floor(age)} s`;
    if (age < 3600) return `${Math.floor(age / 60)} min`;
    if (age < 86400) return `${Math.floor(age / 3600)} h`;
    return new Date(when * 1000).toLocaleDateString();
  }

  // --- skeleton -----------------------------------------------------------------------------

  _build() {
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `
      <style>${STYLE}</style>
      <div class="page">
        <header><span class="menu"></span><h1 class="title"></h1>
          <select class="device" aria-label="device"></select></header>
        <div class="toolbar">
          <input type="search" class="filter">
          <select class="area-filter"></select>
          <span class="count"></span>
          <span class="grow"></span>
          <button class="delete danger" disabled></button>
          <button class="csv"></button>
        </div>
        <div class="banner" hidden></div>
        <div class="table">
          <div class="grid head"></div>
          <div class="scroller"><div class="spacer"></div></div>
        </div>
      </div>`;
    const $ = (selector) => root.querySelector(selector);
    this.$ = {
      title: $(".title"), device: $(".device"), filter: $(".filter"), area: $(".area-filter"),
      count: $(".count"), del: $(".delete"), csv: $(".csv"), banner: $(".banner"),
      head: $(".head"), scroller: $(".scroller"), spacer: $(".spacer"), table: $(".table"),
    };
    const widths = COLUMNS.map((column) => column.width).join(" ");
    this.$.table.style.setProperty("--columns", widths);
    // Narrower than every column's minimum, the table scrolls sideways instead of squeezing.
    const minimum = COLUMNS.reduce((sum, column) => sum + parseInt(column.width.match(/\d+/)[0], 10), 0);
    this.$.table.style.setProperty("--min-width", `${minimum}px`);
    const menu = document.createElement("ha-menu-button");
    menu.hass = this._hass;
    menu.narrow = this._narrow;
    $(".menu").append(menu);
    this._menu = menu;

    this.$.scroller.addEventListener("scroll", () => this._schedule(), { passive: true });
    new ResizeObserver(() => this._schedule()).observe(this.$.scroller);
    let timer = 0;
    this.$.filter.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.filter.text = this.$.filter.value;
        this._refilter();
      }, FILTER_DELAY_MS);
    });
    this.$.area.addEventListener("change", () => {
      this.filter.area = this.$.area.value;
      this._refilter();
    });
    this.$.device.addEventListener("change", () => this._open(this._device(this.$.device.value)));
    this.$.del.addEventListener("click", () => this._deleteSelected());
    this.$.csv.addEventListener("click", () => this._downloadCsv());
    this.$.head.addEventListener("click", (event) => this._headClick(event));
    this.$.spacer.addEventListener("click", (event) => this._rowClick(event));
    this.$.spacer.addEventListener("dblclick", (event) => {
      const element = event.target.closest(".row");
      if (element && !event.target.closest("input,button")) this._edit(element.dataset.key);
    });
  }

  _label() {
    this.$.title.textContent = this.t("title");
    this.$.filter.placeholder = this.t("filter_placeholder");
    this.$.csv.textContent = this.t("download_csv");
    this.$.area.innerHTML = "";
    for (const area of ["", ...AREA_ORDER]) {
      const option = document.createElement("option");
      option.value = area;
      option.textContent = area ? this.t(`area_${area}`) : this.t("all_areas");
      this.$.area.append(option);
    }
    this.$.head.innerHTML = "";
    for (const column of COLUMNS) {
      const cell = document.createElement("div");
      cell.dataset.column = column.id;
      if (column.id === "select") {
        cell.innerHTML = `<input type="checkbox" aria-label="${this.t("select_all")}">`;
      } else if (column.id !== "edit") {
        cell.textContent = this.t(`column_${column.id}`);
        cell.title = this.t(`column_${column.id}_help`);
      }
      this.$.head.append(cell);
    }
    this._updateSortMarks();
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async _start() {
    this._started = true;
    if (!this.shadowRoot) this._build();
    // Round trips in parallel: labels, servers, and the device shown last time (subscribed
    // before its rows are fetched, so no change falls between the two).
    const labels = this._hass.loadBackendTranslation("panel", DOMAIN).catch(() => this._hass.localize);
    const servers = this._ws({ type: "servers" });
    const remembered = localStorage.getItem(`${DOMAIN}.table.device`);
    const prefetched = remembered ? this._fetch(this._device(remembered)) : null;
    this.labels = await labels;
    this._label();
    this._poll = setInterval(() => this._pollActivity(), ACTIVITY_POLL_MS);
    this._tick = setInterval(() => this._refreshLive(["read", "write"]), 1000);
    await this._loadServers(servers, remembered, prefetched);
  }

  _stop() {
    this._started = false;
    clearInterval(this._poll);
    clearInterval(this._tick);
    this._unsubscribeNow();
  }

  _unsubscribeNow() {
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = null;
    if (unsubscribe) unsubscribe.then((stop) => stop()).catch(() => {});
  }

  async _ws(message) {
    return this._hass.connection.sendMessagePromise({ ...message, type: `${WS}/${message.type}` });
  }

  _error(err) {
    const text = err ? err.message || err.code || String(err) : "";
    this.$.banner.textContent = text;
    this.$.banner.hidden = !text;
  }

  _device(value) {
    const [entry_id, device_id] = value.split("/");
    return { entry_id, device_id };
  }

  /** Subscribe to a device's changes, then ask for its rows: {subscription, rows}. */
  _fetch(device) {
    const subscription = this._hass.connection.subscribeMessage(
      (event) => this._onEvent(event),
      { type: `${WS}/subscribe`, ...device },
    );
    subscription.catch(() => {}); // reported by the rows request
    return { device, subscription, rows: this._ws({ type: "rows", ...device }) };
  }

  async _loadServers(request, remembered, prefetched) {
    let result;
    try {
      result = await request;
    } catch (err) {
      this._error(err);
      return;
    }
    const select = this.$.device;
    select.innerHTML = "";
    const choices = [];
    for (const server of result.servers) {
      for (const device of server.devices) {
        const option = document.createElement("option");
        option.value = `${server.entry_id}/${device.id}`;
        const units = device.unit_ids ? device.unit_ids.join(", ") : "";
        const unit = units ? ` · ${this.t("unit_id")} ${units}` : "";
        const name = device.name === server.title ? server.title : `${server.title} · ${device.name}`;
        option.textContent = `${name}${unit} (${device.rows})`;
        select.append(option);
        choices.push(option.value);
      }
    }
    const reuse = prefetched && choices.includes(remembered);
    if (prefetched && !reuse) prefetched.subscription.then((stop) => stop()).catch(() => {});
    if (!choices.length) {
      this._setRows({ fields: [], rows: [], values: {}, running: false });
      this.$.count.textContent = this.t("no_servers");
      return;
    }
    select.value = reuse ? remembered : choices[0];
    await this._open(this._device(select.value), reuse ? prefetched : null);
  }

  async _open(device, prefetched = null) {
    this._unsubscribeNow();
    this.device = device;
    localStorage.setItem(`${DOMAIN}.table.device`, `${device.entry_id}/${device.device_id}`);
    this.selected.clear();
    this.editing = null;
    const { subscription, rows } = prefetched || this._fetch(device);
    this._unsubscribe = subscription;
    try {
      const payload = await rows;
      if (device === this.device) this._setRows(payload);
    } catch (err) {
      this._error(err);
    }
    this._pollActivity();
  }

  async _loadRows() {
    const device = this.device;
    try {
      const payload = await this._ws({ type: "rows", ...device });
      if (device === this.device) this._setRows(payload);
    } catch (err) {
      this._error(err);
    }
  }

  _onEvent(event) {
    if (event.table) {
      this._loadRows();
      return;
    }
    if (!event.values) return;
    for (const [key, value] of Object.entries(event.values)) {
      this.values.set(key, value);
      const element = this.visible.get(key);
      if (element) {
        this._fillLive(element, this.rows[this.byKey.get(key)], ["raw", "value"]);
        element.classList.remove("flash");
        void element.offsetWidth; // restart the animation
        element.classList.add("flash");
      }
    }
  }

  async _pollActivity() {
    if (!this.device || document.hidden) return;
    try {
      const result = await this._ws({ type: "activity", ...this.device });
      this.activity = { read: result.read, write: result.write, skew: result.now - Date.now() / 1000 };
      this._refreshLive(["read", "write"]);
    } catch (err) {
      // the next poll tries again; errors of the table commands are shown
    }
  }

  // --- data -----------------------------------------------------------------------------------

  _setRows(payload) {
    const fields = payload.fields;
    const rows = payload.rows.map((array) => {
      const row = {};
      for (let i = 0; i < fields.length; i++) row[fields[i]] = array[i];
      return this._withSearch(row);
    });
    this.fields = fields;
    this.rows = rows;
    this.byKey = new Map(rows.map((row, index) => [row.key, index]));
    this.values = new Map(Object.entries(payload.values));
    for (const key of [...this.selected]) if (!this.byKey.has(key)) this.selected.delete(key);
    if (this.editing && !this.byKey.has(this.editing.key)) this.editing = null;
    this.running = payload.running;
    // A profile device's rows are generated: shown with live values, never edited or deleted.
    this.editable = payload.editable !== false;
    this.toggleAttribute("readonly", !this.editable);
    if (!this.editable) this.selected.clear();
    performance.mark("modbus-table:rows");
    this._error(payload.running || !rows.length ? null : { message: this.t("not_running") });
    this._refilter();
  }

  _withSearch(row) {
    const parts = [
      row.plc, `${AREA_SHORT[row.area]} ${row.address}`, row.area, typeText(row), row.unit,
      row.source || `owned ${row.name}`, row.name, row.description, row.writable ? "writable" : "",
    ];
    row.search = parts.join(" ").toLowerCase();
    return row;
  }

  /**
   * Every word must match somewhere in the row; `column:text` (type:float32, source:boiler,
   * writable:yes, plc:401) must match in that column.
   */
  _refilter() {
    const words = [];
    const scoped = [];
    for (const token of this.filter.text.toLowerCase().split(/\s+/).filter(Boolean)) {
      const match = token.match(/^([a-z]+):(.+)$/);
      const column = match && COLUMNS.find((c) => c.id === match[1] && c.text && !c.live);
      if (column) scoped.push([column, match[2]]);
      else words.push(token);
    }
    const area = this.filter.area;
    const view = [];
    const rows = this.rows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (area && row.area !== area) continue;
      if (words.length && !words.every((word) => row.search.includes(word))) continue;
      if (scoped.length && !scoped.every(([column, text]) => column.text(row, this).toLowerCase().includes(text))) continue;
      view.push(i);
    }
    this.view = view;
    this._resort();
  }

  _resort() {
    const column = COLUMNS.find((c) => c.id === this.sort.column);
    const keyOf = SORT_BY_LIVE[column.id] || column.sort || column.text;
    const rows = this.rows;
    const keys = new Map(this.view.map((i) => [i, keyOf(rows[i], this)]));
    const direction = this.sort.descending ? -1 : 1;
    this.view.sort((a, b) => {
      const ka = keys.get(a);
      const kb = keys.get(b);
      if (ka < kb) return -direction;
      if (ka > kb) return direction;
      return sortAddress(rows[a]) - sortAddress(rows[b]);
    });
    this._updateCount();
    this._render();
    if (!performance.getEntriesByName("modbus-table:interactive").length && this.rows.length) {
      performance.mark("modbus-table:interactive");
    }
  }

  _updateSortMarks() {
    for (const cell of this.$.head.children) {
      if (cell.dataset.column === this.sort.column) {
        cell.dataset.sort = this.sort.descending ? "▼" : "▲";
      } else {
        delete cell.dataset.sort;
      }
    }
  }

  _updateCount() {
    this.$.count.textContent = this.t("row_count", {
      shown: this.view.length.toLocaleString(),
      total: this.rows.length.toLocaleString(),
    });
    const selected = this.selected.size;
    this.$.del.disabled = selected === 0;
    this.$.del.textContent = this.t("delete_selected", { count: selected.toLocaleString() });
    const all = this.$.head.querySelector("input[type=checkbox]");
    if (all) {
      const inView = this.view.filter((i) => this.selected.has(this.rows[i].key)).length;
      all.checked = inView > 0 && inView === this.view.length;
      all.indeterminate = inView > 0 && inView < this.view.length;
    }
  }

  // --- virtualised rendering ------------------------------------------------------------------

  _schedule() {
    if (!this._frame) this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._render();
    });
  }

  _editPosition() {
    if (!this.editing) return -1;
    const index = this.byKey.get(this.editing.key);
    return this.view.indexOf(index);
  }

  _top(position, editAt) {
    return position * ROW_HEIGHT + (editAt >= 0 && position > editAt ? EDITOR_HEIGHT : 0);
  }

  _positionAt(y, editAt) {
    if (editAt >= 0 && y > (editAt + 1) * ROW_HEIGHT) {
      return Math.max(editAt + 1, Math.floor((y - EDITOR_HEIGHT) / ROW_HEIGHT));
    }
    return Math.floor(y / ROW_HEIGHT);
  }

  _render() {
    const scroller = this.$.scroller;
    const editAt = this._editPosition();
    const height = this.view.length * ROW_HEIGHT + (editAt >= 0 ? EDITOR_HEIGHT : 0);
    this.$.spacer.style.height = `${height}px`;
    const top = scroller.scrollTop;
    // Never more than a window's worth of rows, even while the layout is not settled yet.
    const windowHeight = Math.min(scroller.clientHeight, window.innerHeight);
    const first = Math.max(0, this._positionAt(top, editAt) - OVERSCAN);
    const last = Math.min(this.view.length, this._positionAt(top + windowHeight, editAt) + OVERSCAN + 1);
    const needed = last - first;
    while (this.pool.length < needed) this.pool.push(this._newRowElement());
    this.visible.clear();
    for (let slot = 0; slot < this.pool.length; slot++) {
      const element = this.pool[slot];
      const position = first + slot;
      if (position >= last) {
        if (element.isConnected) element.remove();
        continue;
      }
      const row = this.rows[this.view[position]];
      if (!element.isConnected) this.$.spacer.append(element);
      element.style.transform = `translateY(${this._top(position, editAt)}px)`;
      this._fillRow(element, row);
      this.visible.set(row.key, element);
    }
    this._placeEditor(editAt);
  }

  _newRowElement() {
    const element = document.createElement("div");
    element.className = "grid row";
    for (const column of COLUMNS) {
      const cell = document.createElement("div");
      if (column.id === "select") cell.innerHTML = `<input type="checkbox">`;
      else if (column.id === "edit") cell.innerHTML = `<button class="edit">✎</button>`;
      if (["raw", "plc", "address", "unavailable"].includes(column.id)) cell.className = "mono";
      element.append(cell);
    }
    return element;
  }

  _fillRow(element, row) {
    const cells = element.children;
    if (element.dataset.key !== row.key) {
      element.dataset.key = row.key;
      element.classList.remove("flash");
    }
    for (const column of COLUMNS) {
      if (!column.text || column.live) continue;
      const text = column.text(row, this);
      const cell = cells[column.index];
      if (cell.textContent !== text) cell.textContent = text;
    }
    cells[COLUMNS.find((c) => c.id === "source").index].title = row.description || "";
    cells[0].firstChild.checked = this.selected.has(row.key);
    cells[0].firstChild.setAttribute("aria-label", row.plc);
    cells[cells.length - 1].firstChild.title = this.t("edit");
    element.classList.toggle("selected", this.selected.has(row.key));
    element.classList.toggle("editing", !!this.editing && this.editing.key === row.key);
    this._fillLive(element, row, ["raw", "value", "read", "write"]);
  }

  _fillLive(element, row, ids) {
    const cells = element.children;
    for (const id of ids) {
      const column = COLUMNS.find((c) => c.id === id);
      const cell = cells[column.index];
      const text = column.text(row, this);
      if (cell.textContent !== text) cell.textContent = text;
      if (id === "value" || id === "raw") {
        const value = this.values.get(row.key);
        cell.classList.toggle("dim", !value || value[1] === null);
        cell.classList.toggle("bad", !!value && value[0] === null);
      }
    }
  }

  _refreshLive(ids) {
    for (const [key, element] of this.visible) {
      this._fillLive(element, this.rows[this.byKey.get(key)], ids);
    }
  }

  // --- interaction ------------------------------------------------------------------------------

  _headClick(event) {
    const cell = event.target.closest("[data-column]");
    if (!cell) return;
    const id = cell.dataset.column;
    if (id === "select") {
      const check = event.target.closest("input");
      if (!check) return;
      for (const i of this.view) {
        if (check.checked) this.selected.add(this.rows[i].key);
        else this.selected.delete(this.rows[i].key);
      }
      this._updateCount();
      this._render();
      return;
    }
    if (id === "edit") return;
    this.sort = { column: id, descending: this.sort.column === id && !this.sort.descending };
    this._updateSortMarks();
    this._resort();
  }

  _rowClick(event) {
    const element = event.target.closest(".row");
    if (!element) return;
    const key = element.dataset.key;
    if (event.target.closest("button.edit")) {
      this._edit(key);
      return;
    }
    const check = event.target.closest("input[type=checkbox]");
    if (!check) return;
    const position = this.view.indexOf(this.byKey.get(key));
    if (event.shiftKey && this._anchor !== undefined) {
      const [from, to] = [Math.min(this._anchor, position), Math.max(this._anchor, position)];
      for (let p = from; p <= to; p++) {
        if (check.checked) this.selected.add(this.rows[this.view[p]].key);
        else this.selected.delete(this.rows[this.view[p]].key);
      }
    } else if (check.checked) {
      this.selected.add(key);
    } else {
      this.selected.delete(key);
    }
    this._anchor = position;
    this._updateCount();
    this._render();
  }

  async _deleteSelected() {
    const keys = [...this.selected];
    if (!keys.length) return;
    if (!confirm(this.t("confirm_delete", { count: keys.length.toLocaleString() }))) return;
    this.$.del.disabled = true;
    try {
      await this._ws({ type: "delete_rows", ...this.device, keys });
      // Gone at once here; the reloaded table follows as a {table: true} event.
      const gone = new Set(keys);
      this._setRows({
        fields: this.fields,
        rows: this.rows.filter((row) => !gone.has(row.key)).map((row) => this.fields.map((f) => row[f])),
        values: Object.fromEntries(this.values),
        running: this.running,
      });
      this.selected.clear();
      this._updateCount();
    } catch (err) {
      this._error(err);
    }
  }

  async _downloadCsv() {
    try {
      const result = await this._ws({ type: "export", ...this.device });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.csv], { type: "text/csv" }));
      link.download = result.filename;
      this.shadowRoot.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      this._error(err);
    }
  }

  // --- inline editor ----------------------------------------------------------------------------

  _edit(key) {
    const row = this.rows[this.byKey.get(key)];
    if (!row || !this.editable) return;
    this.editing = {
      key,
      errors: {},
      draft: {
        name: row.name, description: row.description, address: row.address, data_type: row.data_type,
        order: row.order, bit: row.bit, length: row.length, scale: row.scale, offset: row.offset,
        unit: row.unit || "", writable: row.writable, unavailable_value: row.unavailable_value,
      },
    };
    this._editor?.remove();
    this._editor = null;
    this._render();
    this._editor?.querySelector("input[name=address]")?.focus();
  }

  _placeEditor(editAt) {
    if (editAt < 0) {
      this._editor?.remove();
      return;
    }
    if (!this._editor || this._editor.dataset.key !== this.editing.key) {
      this._editor?.remove();
      this._editor = this._buildEditor();
    }
    if (!this._editor.isConnected) this.$.spacer.append(this._editor);
    this._editor.style.transform = `translateY(${(editAt + 1) * ROW_HEIGHT}px)`;
  }

  _buildEditor() {
    const { key, draft, errors } = this.editing;
    const row = this.rows[this.byKey.get(key)];
    const bitArea = row.area === "coil" || row.area === "discrete_input";
    const writableArea = row.area === "coil" || row.area === "holding_register";
    const editor = document.createElement("form");
    editor.className = "editor";
    editor.dataset.key = key;
    editor.noValidate = true; // the integration's rules answer, with the row form's messages
    const fields = document.createElement("div");
    fields.className = "fields";
    const field = (name, control, { wide = false, check = false } = {}) => {
      const label = document.createElement("label");
      label.className = [wide ? "wide" : "", check ? "check" : ""].join(" ");
      const caption = document.createElement("span");
      caption.textContent = this.t(`field_${name}`);
      if (check) label.append(control, caption);
      else label.append(caption, control);
      if (Object.keys(errors).some((f) => editorField(f) === name)) label.classList.add("invalid");
      fields.append(label);
    };
    const input = (name, type = "text", extra = {}) => {
      const element = document.createElement("input");
      element.name = name;
      element.type = type;
      Object.assign(element, extra);
      if (type === "checkbox") element.checked = !!draft[name];
      else element.value = draft[name] === null || draft[name] === undefined ? "" : draft[name];
      return element;
    };
    const select = (name, options) => {
      const element = document.createElement("select");
      element.name = name;
      for (const option of options) element.append(new Option(option, option));
      element.value = draft[name];
      return element;
    };
    field("address", input("address", "number", { min: 0, max: 65535, step: 1 }));
    if (!bitArea) {
      field("data_type", select("data_type", REGISTER_TYPES));
      field("order", select("order", Object.keys(LAYOUTS)));
      if (draft.data_type === "bit") field("bit", input("bit", "number", { min: 0, max: 15, step: 1 }));
      if (draft.data_type === "string") field("length", input("length", "number", { min: 1, max: 125, step: 1 }));
      field("scale", input("scale", "number", { step: "any" }));
      field("offset", input("offset", "number", { step: "any" }));
      field("unit", input("unit"));
    }
    field("unavailable_value", input("unavailable_value", "number", { step: "any" }));
    if (!row.source) field("name", input("name"), { wide: true });
    field("description", input("description"), { wide: true });
    if (writableArea) field("writable", input("writable", "checkbox"), { check: true });
    editor.append(fields);
    const actions = document.createElement("div");
    actions.className = "actions";
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "primary";
    save.textContent = this.t("save");
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = this.t("cancel");
    cancel.addEventListener("click", () => this._cancelEdit());
    actions.append(save, cancel);
    // The messages sit in one line under the fields, so the fields never move.
    for (const [name, error] of Object.entries(errors)) {
      const message = document.createElement("span");
      message.className = "error";
      const general = name === "base" || name === "advanced";
      message.textContent = general ? error.message : `${this.t(`field_${editorField(name)}`)}: ${error.message}`;
      actions.append(message);
    }
    editor.append(actions);
    editor.addEventListener("input", (event) => this._draftInput(event));
    editor.addEventListener("change", (event) => {
      // A new type shows or hides the bit and length fields.
      if (event.target.name === "data_type") this._rebuildEditor();
    });
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this._cancelEdit();
    });
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      this._saveEdit();
    });
    return editor;
  }

  _draftInput(event) {
    const target = event.target;
    if (!target.name || !this.editing) return;
    this.editing.draft[target.name] = target.type === "checkbox" ? target.checked : target.value;
  }

  _rebuildEditor() {
    this._editor?.remove();
    this._editor = null;
    this._render();
  }

  _cancelEdit() {
    this.editing = null;
    this._editor?.remove();
    this._editor = null;
    this._render();
  }

  _changes() {
    const draft = this.editing.draft;
    const number = (value) => (value === "" || value === null || value === undefined ? null : Number(value));
    const [word_order, byte_order] = LAYOUTS[draft.order] || LAYOUTS.ABCD;
    const row = this.rows[this.byKey.get(this.editing.key)];
    const changes = {
      address: number(draft.address),
      unavailable_value: number(draft.unavailable_value),
      description: draft.description || "",
    };
    if (row.area === "input_register" || row.area === "holding_register") {
      Object.assign(changes, {
        data_type: draft.data_type, word_order, byte_order,
        bit: draft.data_type === "bit" ? number(draft.bit) : null,
        length: draft.data_type === "string" ? number(draft.length) : null,
        scale: number(draft.scale) ?? 1, offset: number(draft.offset) ?? 0, unit: draft.unit || null,
      });
    }
    if (!row.source) changes.name = draft.name || "";
    if (row.area === "coil" || row.area === "holding_register") changes.writable = !!draft.writable;
    if (changes.address === null) changes.address = -1; // "must be a whole number" from the rules
    return changes;
  }

  async _saveEdit() {
    const editing = this.editing;
    let result;
    try {
      result = await this._ws({
        type: "update_row", ...this.device, key: editing.key, changes: this._changes(),
        language: this._hass.language,
      });
    } catch (err) {
      editing.errors = { base: { message: err.message || String(err) } };
      this._rebuildEditor();
      return;
    }
    if (result.errors) {
      editing.errors = result.errors;
      this._rebuildEditor();
      return;
    }
    // Shown at once; the reloaded table arrives as a {table: true} event.
    const row = {};
    this.fields.forEach((f, i) => (row[f] = result.row[i]));
    this.rows[this.byKey.get(editing.key)] = this._withSearch(row);
    this.editing = null;
    this._editor?.remove();
    this._editor = null;
    this._refilter();
    this._reveal(row.key);
  }

  /** Scroll a row into the window (a saved row may have moved with its new address). */
  _reveal(key) {
    const position = this.view.indexOf(this.byKey.get(key));
    if (position < 0) return;
    const scroller = this.$.scroller;
    const top = position * ROW_HEIGHT;
    if (top < scroller.scrollTop || top + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 3);
    }
    this._render();
    this.visible.get(key)?.classList.add("flash");
  }
}

customElements.define("modbus-server-table", ModbusServerTable);
