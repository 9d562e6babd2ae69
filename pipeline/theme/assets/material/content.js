// From Material for MkDocs 9.8.1 (MIT licence), partials/javascripts/content.html: an inline script moved to a file.
var target=document.getElementById(location.hash.slice(1));target&&target.name&&(target.checked=target.name.startsWith("__tabbed_"))
