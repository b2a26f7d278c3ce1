// a11y.mjs -- an accessibility sanity check of a page, run inside it with
// page.evaluate(a11yProblems). Not a full audit: it catches what the portal
// must never ship: a form control without a label, a button or link
// without a name, not exactly one h1, skipped heading levels, missing
// landmarks, lang or title, duplicate ids, dangling aria references, an
// image without alt, no live region for messages, and horizontal scrolling
// (on a phone-sized viewport). Returns a list of problems (empty: fine).

export function a11yProblems() {
	const problems = [];
	const visible = (el) => el.getClientRects().length > 0 &&
		getComputedStyle(el).visibility !== 'hidden';
	const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id));
	const nameOf = (el) => {
		const lb = el.getAttribute('aria-labelledby');
		if (lb)
			return byIds(lb).map((e) => (e ? e.textContent : '')).join(' ').trim();
		const al = el.getAttribute('aria-label');
		if (al)
			return al.trim();
		if (el.labels && el.labels.length)
			return [...el.labels].map((l) => l.textContent).join(' ').trim();
		return (el.textContent || '').trim() || (el.getAttribute('title') || '').trim();
	};
	for (const el of document.querySelectorAll('input, select, textarea')) {
		if (el.type === 'hidden' || el.getAttribute('aria-hidden') === 'true' || !visible(el))
			continue;
		const labelled = (el.labels && el.labels.length && nameOf(el)) ||
			el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
		if (!labelled)
			problems.push(`no label: ${el.tagName.toLowerCase()}#${el.id}`);
	}
	for (const el of document.querySelectorAll('button, a[href], summary')) {
		if (visible(el) && !nameOf(el))
			problems.push(`no accessible name: ${el.outerHTML.slice(0, 80)}`);
	}
	const h1 = document.querySelectorAll('h1');
	if (h1.length !== 1)
		problems.push(`${h1.length} h1 elements`);
	let last = 0;
	for (const hd of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
		const level = Number(hd.tagName[1]);
		if (level > last + 1)
			problems.push(`heading level skipped: ${hd.tagName} "${hd.textContent.trim()}"`);
		last = level;
	}
	if (document.querySelectorAll('main').length !== 1)
		problems.push('not exactly one <main>');
	if (!document.querySelector('header'))
		problems.push('no <header> (banner)');
	if (!document.documentElement.lang)
		problems.push('no lang on <html>');
	if (!document.title.trim())
		problems.push('no <title>');
	const ids = new Set();
	for (const el of document.querySelectorAll('[id]')) {
		if (ids.has(el.id))
			problems.push(`duplicate id ${el.id}`);
		ids.add(el.id);
	}
	for (const el of document.querySelectorAll('[aria-labelledby], [aria-describedby], label[for]')) {
		const refs = [el.getAttribute('aria-labelledby'), el.getAttribute('aria-describedby'),
			el.getAttribute('for')].filter(Boolean).join(' ');
		for (const id of refs.split(/\s+/))
			if (!document.getElementById(id))
				problems.push(`reference to missing id ${id}`);
	}
	for (const img of document.querySelectorAll('img'))
		if (!img.hasAttribute('alt'))
			problems.push('img without alt');
	if (!document.querySelector('[role="alert"]') || !document.querySelector('[aria-live]'))
		problems.push('no live regions for messages');
	if (document.documentElement.scrollWidth > window.innerWidth + 1)
		problems.push(`horizontal scrolling: ${document.documentElement.scrollWidth} px wide in ${window.innerWidth}`);
	return problems;
}
