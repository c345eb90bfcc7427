export function enhanceForms() {}
