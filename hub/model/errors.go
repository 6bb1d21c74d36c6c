package model

import "fmt"

// InputError reports input that the hub rejects: a malformed or unsupported
// file, a bad value. Err is the English cause for logs; Ru is the message the
// 1C operator sees, in Russian, naming the file and what to do.
type InputError struct {
	File string
	Ru   string
	Err  error
}

func (e *InputError) Error() string {
	if e.File == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }
