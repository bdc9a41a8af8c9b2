#!/usr/bin/env node
// A storefront's checkout on Centra's Checkout API, written from Centra's documentation only
// (the Checkout API pages: introduction, selections and orders, order flow, products and
// categories, "How to build a proper Centra Front End"), with Node 20's fetch and nothing else.
//
//   node checkout_client.mjs <base-url> [--voucher CODE] [--payment-method ID]
//                            [--quantity N] [--return-page URL]
//
// <base-url> is the Checkout API's base, e.g. http://127.0.0.1:8000/api/checkout. It browses
// (categories, then the products of the first category that has any, then that product's
// page), adds its first size in stock to the cart, changes that line's quantity, applies a
// voucher, chooses the payment method, pays with a `form` action (the form's fields posted to
// the return page, as a browser would), comes back to the return page (payment-result) and
// shows the receipt. It prints one JSON summary on stdout; on any error, one line on stderr
// and exit code 1.

const args = process.argv.slice(2);
const base = (args[0] || "").replace(/\/+$/, "");
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
};
const voucher = option("voucher", null);
const wantedMethod = option("payment-method", null);
const quantity = Number(option("quantity", "2"));
const returnPage = option("return-page", "https://storefront.example/payment-return");
const failedPage = "https://storefront.example/payment-failed";

// The session: every answer carries `token`; a different one replaces ours (rotation).
const session = { token: null, seen: [], rotations: 0, requests: 0, echoed: 0 };

function keepToken(body) {
  if (body && typeof body.token === "string") {
    if (session.token !== null && body.token !== session.token) session.rotations += 1;
    session.token = body.token;
    if (!session.seen.includes(body.token)) session.seen.push(body.token);
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (session.token !== null) {
    if (method === "GET") {
      // On a GET the token may go in Accept, which saves a browser the CORS preflight.
      headers.Accept = `*/*; api-token=${session.token}`;
    } else {
      headers["API-token"] = session.token;
    }
  }
  const correlation = `storefront-${++session.requests}`;
  headers["X-Correlation-ID"] = correlation;
  const init = { method, headers };
  if (body !== undefined && method !== "GET" && method !== "DELETE") {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${base}/${path}`, init);
  if (response.headers.get("x-correlation-id") === correlation) session.echoed += 1;
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 80)}`);
  }
  keepToken(data);
  // No `errors` key means the call succeeded; there is no success flag.
  if (response.status >= 400 || data.errors) {
    throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(data.errors ?? data)}`);
  }
  return data;
}

// The form a browser would submit: its action and its hidden inputs (HTML entities decoded).
function decodeEntities(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#(\d+);/g, (_, code) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, "&");
}

function attributes(tag) {
  const found = {};
  for (const match of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)) {
    found[match[1].toLowerCase()] = decodeEntities(match[3] ?? match[4] ?? match[5] ?? "");
  }
  return found;
}

function parseForm(html) {
  const form = html.match(/<form\b[^>]*>/i);
  const action = form ? attributes(form[0]).action ?? "" : "";
  const fields = {};
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const found = attributes(input[0]);
    if ((found.type ?? "").toLowerCase() === "hidden" && found.name) fields[found.name] = found.value ?? "";
  }
  return { action, fields };
}

// What the return page receives when the form is posted: the query of the form's action and
// the posted fields, names unchanged; all of it goes to payment-result.
function returnPageParameters(form) {
  const parameters = {};
  if (form.action) {
    const url = new URL(form.action, returnPage);
    for (const [name, value] of url.searchParams) parameters[name] = value;
  }
  return { ...parameters, ...form.fields };
}

async function main() {
  if (!base.startsWith("http")) throw new Error("usage: checkout_client.mjs <checkout-api-base-url> [options]");

  // Browse: the categories, the first category that has products, its first product's page.
  const { categories } = await call("GET", "categories");
  let listing = null;
  let category = null;
  for (const candidate of categories) {
    const found = await call("POST", "products", { categories: [candidate.category], limit: 10, skipFirst: 0 });
    if (found.productCount > 0) {
      listing = found;
      category = candidate;
      break;
    }
  }
  if (listing === null) throw new Error("no category has products");
  const page = await call("GET", `products/${encodeURIComponent(listing.products[0].product)}`);
  const product = page.products[0];
  const item = product.items.find((i) => i.stock === undefined || i.stock === "yes") ?? product.items[0];

  // The cart: add one, then change the line's quantity, then the voucher.
  let answer = await call("POST", `items/${encodeURIComponent(item.item)}/quantity/1`);
  const line = answer.selection.items.find((l) => l.item === item.item).line;
  answer = await call("PUT", `lines/${encodeURIComponent(line)}/quantity/${quantity}`);
  if (voucher) answer = await call("POST", "vouchers", { voucher });
  const cartTotal = answer.selection.totals.grandTotalPriceAsNumber;

  // The payment method, the payment, and the form action a browser would post.
  const method = wantedMethod ?? answer.paymentMethods[0].paymentMethod;
  if (answer.selection.paymentMethod !== method) {
    answer = await call("PUT", `payment-methods/${encodeURIComponent(method)}`);
  }
  const country = answer.location?.country || "SE";
  const action = await call("POST", "payment", {
    paymentMethod: method,
    paymentReturnPage: returnPage,
    paymentFailedPage: failedPage,
    termsAndConditions: true,
    address: {
      email: "storefront@example.com",
      firstName: "Store",
      lastName: "Front",
      address1: "Storgatan 1",
      zipCode: "11122",
      city: "Stockholm",
      country,
      phoneNumber: "+46701234567",
    },
  });
  if (action.action !== "form") throw new Error(`expected a form action, got ${JSON.stringify(action.action)}`);
  const form = parseForm(action.formHtml);
  const posted = returnPageParameters(form);

  // Back on the return page: payment-result once, then the receipt.
  const result = await call("POST", "payment-result", { paymentMethodFields: posted });
  const order = result.order;
  const receipt = await call("GET", "receipt");

  const summary = {
    category: category.uri,
    product: product.product,
    item: item.item,
    quantity,
    voucher,
    paymentMethod: method,
    formAction: form.action,
    postedFields: Object.keys(posted).sort(),
    cartTotal,
    order: order.order,
    status: order.status,
    currency: order.currency,
    grandTotal: order.totals.grandTotalPriceAsNumber,
    grandTotalShown: order.totals.grandTotalPrice,
    lines: order.items.map((l) => ({ item: l.item, quantity: l.quantity, product: l.product?.product ?? l.product })),
    receiptOrder: receipt.order.order,
    receiptGrandTotal: receipt.order.totals.grandTotalPriceAsNumber,
    tokens: session.seen.length,
    rotations: session.rotations,
    requests: session.requests,
    correlationEchoed: session.echoed,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error) => {
  process.stderr.write(`checkout_client: ${error.message}\n`);
  process.exit(1);
});
