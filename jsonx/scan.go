package jsonx

// The scanner below finds value boundaries in input Decode has accepted. It checks only what
// it needs to find those boundaries (string ends, bracket nesting) and stays in bounds on any
// input; malformed input makes it report !ok or return boundaries that are wrong but in range.

func skipSpaceAt(raw []byte, i int) int {
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string literal starting at raw[i] == '"' and whether
// it contains escapes.
func skipString(raw []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			return j + 1, escaped, true
		case '\\':
			escaped = true
			j++
		}
	}
	return len(raw), escaped, false
}

// skipValue returns the index after the JSON value starting at raw[i].
func skipValue(raw []byte, i int) (int, bool) {
	if i >= len(raw) {
		return i, false
	}
	switch raw[i] {
	case '"':
		end, _, ok := skipString(raw, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, _, ok := skipString(raw, j)
				if !ok {
					return end, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(raw), false
	}
	j := i
	for j < len(raw) {
		c := raw[j]
		if c == ',' || c == '}' || c == ']' || isSpace(c) {
			break
		}
		j++
	}
	return j, j > i
}

// keyEquals reports whether the key literal raw[ks:ke] (quotes included) decodes to name.
func keyEquals(raw []byte, ks, ke int, escaped bool, name string) bool {
	if !escaped {
		return string(raw[ks+1:ke-1]) == name
	}
	d := decoder{data: raw[ks:ke], s: string(raw[ks:ke])}
	s, ok := d.str()
	return ok && s == name
}

// memberScan walks the members of the object at raw[start] == '{'.
type memberScan struct {
	raw        []byte
	pos        int
	keyStart   int
	keyEnd     int
	escaped    bool
	valueStart int
	valueEnd   int
	closeEnd   int // index after '}' once done
	err        bool
	started    bool
}

func newMemberScan(raw []byte, start int) memberScan {
	return memberScan{raw: raw, pos: start + 1}
}

// next advances to the next member; false at the end of the object or on malformed input
// (check s.err).
func (s *memberScan) next() bool {
	raw := s.raw
	i := skipSpaceAt(raw, s.pos)
	if s.started {
		if i < len(raw) && raw[i] == '}' {
			s.closeEnd = i + 1
			return false
		}
		if i >= len(raw) || raw[i] != ',' {
			s.err = true
			return false
		}
		i = skipSpaceAt(raw, i+1)
	} else {
		s.started = true
		if i < len(raw) && raw[i] == '}' {
			s.closeEnd = i + 1
			s.keyStart = i // members would start here: the leading part is raw[start:i]
			return false
		}
	}
	if i >= len(raw) || raw[i] != '"' {
		s.err = true
		return false
	}
	s.keyStart = i
	var ok bool
	if s.keyEnd, s.escaped, ok = skipString(raw, i); !ok {
		s.err = true
		return false
	}
	i = skipSpaceAt(raw, s.keyEnd)
	if i >= len(raw) || raw[i] != ':' {
		s.err = true
		return false
	}
	s.valueStart = skipSpaceAt(raw, i+1)
	if s.valueEnd, ok = skipValue(raw, s.valueStart); !ok {
		s.err = true
		return false
	}
	s.pos = s.valueEnd
	return true
}
