package capfile

// Mapped tells whether the Source reads its file through memory mappings.
func (s *Source) Mapped() bool { return s.hr.f != nil }

// ReadsAhead tells whether the Source reads its stored bytes on a
// goroutine of its own (without the hash).
func (s *Source) ReadsAhead() bool { return s.hr.mode == modeReadAhead }
