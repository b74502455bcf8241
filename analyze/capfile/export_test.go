package capfile

// ReadsAhead tells whether the Source reads its stored bytes on a
// goroutine of its own (without the hash).
func (s *Source) ReadsAhead() bool { return s.hr.mode == modeReadAhead }
