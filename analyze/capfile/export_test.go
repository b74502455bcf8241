package capfile

// Mapped tells whether the Source reads its file through memory mappings.
func (s *Source) Mapped() bool { return s.hr.f != nil }
