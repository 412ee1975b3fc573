# Sourced by the scripts that need pinned Python tools. `python_venv DIR REQUIREMENTS` makes DIR
# a virtualenv with exactly REQUIREMENTS installed, or leaves it alone when it already has them:
# the copy of the requirements inside it says which it has (the test harness writes the same).
python_venv() {
  local dir=$1 requirements=$2
  local stamp="$dir/.taskpulse-requirements"
  if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    echo "installing $requirements into $dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  fi
}
