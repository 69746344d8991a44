"""Icons, the SVG and the .desktop file. Installed as the package
`batchgui.resources` (a package-dir mapping in pyproject.toml), so
`batchgui.paths.resource()` finds them in a checkout, a wheel and the bundle."""
