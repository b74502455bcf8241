// Package detect turns the sessions that analyze built into findings, a
// verdict and ranked recommendations.
package detect
